/** Shared helpers for the backend tests: seeded data, running one computation on a named backend, comparing. */
import { expect } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { Rng } from '../../src/util/rng.js';

/** Seeded standard-normal values. */
export function randomValues(seed: string, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Runs `fn` on `backend` inside tf.tidy and reads its output(s) back. */
export function runOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  if (!tf.setBackend(backend)) throw new Error(`backend ${backend} unavailable`);
  return tf.tidy(() => {
    const out = fn();
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

/** max |a - b| / max |b| (the relative error the backend tests bound). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Asserts native and cpu agree on every output of `fn` within `tol` relative error. */
export function expectNativeMatchesCpu(fn: () => tf.Tensor | tf.Tensor[], tol = 1e-5): void {
  const cpu = runOn('cpu', fn);
  const native = runOn('native', fn);
  expect(native.length).toBe(cpu.length);
  cpu.forEach((ref, i) => {
    const got = native[i] as Float32Array;
    expect(got.length).toBe(ref.length);
    expect(ref.some((v) => v !== 0)).toBe(true); // a case whose reference is all zeros would prove nothing
    expect(relativeError(got, ref)).toBeLessThan(tol);
  });
}
