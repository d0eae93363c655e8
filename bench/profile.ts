/**
 * Per-kernel profile of one call under tf.profile, shared by the bench scripts' --profile modes: kernels grouped
 * by name and by (name, input shapes), sorted by total time, with GFLOP/s for convolutions and matmuls.
 */
import { tf } from '../src/backend/index.js';

/** FLOPs of a profiled kernel when defined (convolutions, depthwise convolutions and matmuls), else null. */
export function kernelFlops(name: string, inputs: (number[] | null)[], outputs: number[][]): number | null {
  const out = outputs[0];
  if (!out) return null;
  const size = out.reduce((a, b) => a * b, 1);
  if (name === 'Conv2D' || name === 'FusedConv2D') {
    const f = inputs[1];
    if (!f) return null;
    return 2 * size * (f[0] as number) * (f[1] as number) * (f[2] as number);
  }
  if (name === 'DepthwiseConv2dNative' || name === 'FusedDepthwiseConv2D') {
    const f = inputs[1];
    if (!f) return null;
    return 2 * size * (f[0] as number) * (f[1] as number);
  }
  if (name === 'BatchMatMul' || name === '_FusedMatMul') {
    // out [..., M, N]; the contracted length is the one dimension of `a` that is neither M nor a batch dim.
    const a = inputs[0];
    if (!a || !inputs[1]) return null;
    const m = out[out.length - 2] as number;
    const aLast = a[a.length - 1] as number;
    const aPrev = a[a.length - 2] as number;
    const k = aLast === m && aPrev !== m ? aPrev : aLast;
    return 2 * size * k;
  }
  return null;
}

/** Profiles one call of `fn` and prints the `top` kernels by name and by (name, input shapes). Returns total kernel ms. */
export async function printKernelProfile(title: string, fn: () => void, top: number): Promise<number> {
  const info = await tf.profile(fn);
  type Row = { ms: number; count: number; flops: number; flopsMs: number };
  const byName = new Map<string, Row>();
  const byShape = new Map<string, Row>();
  let total = 0;
  for (const k of info.kernels) {
    // Scopes recorded by tf.op wrappers (`fusedConv2d__op`) time the kernels they contain: counted once, below.
    if (k.name.endsWith('__op')) continue;
    const ms = (await k.kernelTimeMs) as number;
    total += ms;
    const fl = kernelFlops(k.name, k.inputShapes as (number[] | null)[], k.outputShapes as number[][]);
    const shapeKey = `${k.name} ${(k.inputShapes as (number[] | null)[]).map((sh) => (sh ? `[${sh.join(',')}]` : '-')).join(' ')}`;
    for (const [map, key] of [
      [byName, k.name],
      [byShape, shapeKey],
    ] as const) {
      const r = map.get(key) ?? { ms: 0, count: 0, flops: 0, flopsMs: 0 };
      r.ms += ms;
      r.count += 1;
      if (fl !== null) {
        r.flops += fl;
        r.flopsMs += ms;
      }
      map.set(key, r);
    }
  }
  console.log(`${title}; profiled kernel time ${total.toFixed(1)} ms`);
  const print = (heading: string, map: Map<string, Row>): void => {
    console.log(`\n${heading}`);
    console.log(`${'ms'.padStart(9)} ${'%'.padStart(5)} ${'calls'.padStart(5)} ${'GFLOP/s'.padStart(8)}  kernel`);
    for (const [key, r] of [...map.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
      const gf = r.flopsMs > 0 ? (r.flops / (r.flopsMs / 1000) / 1e9).toFixed(1) : '';
      console.log(`${r.ms.toFixed(1).padStart(9)} ${((100 * r.ms) / total).toFixed(1).padStart(5)} ${String(r.count).padStart(5)} ${gf.padStart(8)}  ${key}`);
    }
  };
  print('by kernel name', byName);
  print('by kernel name and input shapes', byShape);
  return total;
}
