/**
 * Multi-threaded native versions of the float32 elementwise kernels that dominate a UNet step after the
 * convolutions (PERF-NOTES.md), one KernelConfig per tfjs kernel name. The cpu kernels are single-threaded JS
 * with per-element broadcast indexing (~50x slower on 8x112x112x128 activations). Non-float32 inputs fall back.
 */
import { backend_util, ClipByValue } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { AdamUpdate, type AdamUpdateAttrs } from '../kernel-names.js';
import { BINARY_OP_CODES, UNARY_OP_CODES, loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Element strides of `shape` aligned (from the right) to `outShape`, 0 along broadcast dimensions. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = outShape.length - shape.length + d;
    const size = shape[d] as number;
    strides[od] = size === 1 ? 0 : stride;
    stride *= size;
  }
  return strides;
}

/** Merges adjacent dimensions that both operands traverse uniformly, so the inner loop is as long as possible. */
export function collapseBroadcast(
  shape: readonly number[],
  as: readonly number[],
  bs: readonly number[],
): { shape: number[]; as: number[]; bs: number[] } {
  const out = { shape: [] as number[], as: [] as number[], bs: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d] as number;
    if (size === 1) continue; // a size-1 dimension moves nothing
    const last = out.shape.length - 1;
    if (
      last >= 0 &&
      (out.as[last] as number) === (as[d] as number) * size &&
      (out.bs[last] as number) === (bs[d] as number) * size
    ) {
      out.shape[last] = (out.shape[last] as number) * size;
      out.as[last] = as[d] as number;
      out.bs[last] = bs[d] as number;
    } else {
      out.shape.push(size);
      out.as.push(as[d] as number);
      out.bs.push(bs[d] as number);
    }
  }
  if (out.shape.length === 0) return { shape: [1], as: [0], bs: [0] };
  return out;
}

function binaryKernel(kernelName: keyof typeof BINARY_OP_CODES): KernelConfig {
  const code = BINARY_OP_CODES[kernelName];
  const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const av = valuesOf(args.backend, a);
    const bv = valuesOf(args.backend, b);
    if (av === null || bv === null) return runCpuKernel(kernelName, args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const c = collapseBroadcast(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
    const innerA = c.as[c.as.length - 1] as number;
    const innerB = c.bs[c.bs.length - 1] as number;
    if (innerA > 1 || innerB > 1) return runCpuKernel(kernelName, args);
    const out = allocOutput(args.backend, outShape, true); // every output element is written
    if (out.values.length > 0) loadNativeAddon().binaryOp(code, av, bv, out.values, c.shape, c.as, c.bs);
    return out.info;
  };
  return { kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

function unaryKernel(kernelName: keyof typeof UNARY_OP_CODES): KernelConfig {
  const code = UNARY_OP_CODES[kernelName];
  const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const xv = valuesOf(args.backend, x);
    if (xv === null) return runCpuKernel(kernelName, args);
    const out = allocOutput(args.backend, [...x.shape], true); // every output element is written
    loadNativeAddon().unaryOp(code, xv, out.values);
    return out.info;
  };
  return { kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** Add, Sub, Multiply, RealDiv, SquaredDifference, Maximum, Minimum with NumPy broadcasting. */
export const BINARY_KERNELS: readonly KernelConfig[] = (Object.keys(BINARY_OP_CODES) as (keyof typeof BINARY_OP_CODES)[]).map(binaryKernel);

/** Sigmoid, Exp, Square, Sqrt, Rsqrt, Neg, Relu, Tanh, Log, Abs, Erf. */
export const UNARY_KERNELS: readonly KernelConfig[] = (Object.keys(UNARY_OP_CODES) as (keyof typeof UNARY_OP_CODES)[]).map(unaryKernel);

/**
 * ClipByValue with tfjs's definition (x > max ? max : x < min ? min : x, so NaN and signed zeros pass as in tfjs),
 * as one plain loop over the float32 values. tfjs cpu's kernel calls a closure per element: the labeller's DDIM steps
 * clip [40,112,112,3] x̂0 five times per batch, which took ~90 ms of a 2.7 s batch there.
 */
function clipByValueKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const { clipValueMin: lo, clipValueMax: hi } = args.attrs as unknown as { clipValueMin: number; clipValueMax: number };
  const xv = valuesOf(args.backend, x);
  if (xv === null) return runCpuKernel(ClipByValue, args);
  const out = allocOutput(args.backend, [...x.shape], true); // every output element is written
  const o = out.values;
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i] as number;
    o[i] = v > hi ? hi : v < lo ? lo : v;
  }
  return out.info;
}

export const clipByValueConfig: KernelConfig = {
  kernelName: ClipByValue,
  backendName: 'native',
  kernelFunc: clipByValueKernel as unknown as KernelFunc,
};

/** DiffiqaAdamUpdate: p', m', v' in one native pass (src/backend/ops/adam.ts); non-float32 inputs are an error. */
function adamUpdateKernel(args: KernelArgs): TensorInfo[] {
  const { p, g, m, v } = args.inputs as { p: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo };
  const a = args.attrs as unknown as AdamUpdateAttrs;
  const vals = [p, g, m, v].map((t) => valuesOf(args.backend, t));
  if (vals.some((x) => x === null)) throw new Error(`${AdamUpdate}: float32 p, g, m and v expected`);
  const [pv, gv, mv, vv] = vals as Float32Array[];
  const outs = [0, 1, 2].map(() => allocOutput(args.backend, [...p.shape], true)); // every element is written
  const scalars = Float32Array.of(a.gradScale, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.bc2, a.eps, a.stepSize);
  const [po, mo, vo] = outs as [ReturnType<typeof allocOutput>, ReturnType<typeof allocOutput>, ReturnType<typeof allocOutput>];
  if (pv.length > 0) loadNativeAddon().adamUpdate(pv, gv as Float32Array, mv as Float32Array, vv as Float32Array, scalars, po.values, mo.values, vo.values);
  return [po.info, mo.info, vo.info];
}

export const adamUpdateConfig: KernelConfig = {
  kernelName: AdamUpdate,
  backendName: 'native',
  kernelFunc: adamUpdateKernel as unknown as KernelFunc,
};
