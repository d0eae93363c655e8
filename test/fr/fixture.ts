/** Reader for the `.fxt` fixtures written by test/fixtures/fr/gen_backbones.py (see its docstring). */
import { readFileSync } from 'node:fs';
import type { HostTensor } from '../../src/nn/params.js';

export function readFxt(path: string): Map<string, HostTensor> {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + headerLen).toString('utf8')) as {
    tensors: Record<string, { shape: number[]; offset: number }>;
  };
  const base = 4 + headerLen;
  const out = new Map<string, HostTensor>();
  for (const [name, { shape, offset }] of Object.entries(header.tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(base + 4 * (offset + i));
    out.set(name, { shape, data });
  }
  return out;
}

/** The `state.*` entries as a PyTorch state dict. */
export function stateDictOf(fx: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  const sd = new Map<string, HostTensor>();
  for (const [k, v] of fx) if (k.startsWith('state.')) sd.set(k.slice(6), v);
  return sd;
}

/** max |a-b| / max |b|. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return err / scale;
}
