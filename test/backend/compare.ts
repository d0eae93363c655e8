/** Shared helpers for the backend tests: seeded data, running one computation on a named backend, comparing. */
import { expect, vi } from 'vitest';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
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

/**
 * Runs `fn` once under each instruction set this CPU runs (avx512, avx2, portable; the addon's setIsa), restoring the
 * one in use after; returns the sets that ran. A set the CPU lacks is skipped, not rerun under another name.
 */
export function onEveryIsa(fn: (isa: string) => void): string[] {
  const addon = loadNativeAddon();
  const before = addon.info().isa;
  const ran: string[] = [];
  try {
    for (const isa of ['avx512', 'avx2', 'portable']) {
      if (addon.setIsa(isa) !== isa) continue;
      ran.push(isa);
      fn(isa);
    }
  } finally {
    addon.setIsa(before);
  }
  return ran;
}

/**
 * Asserts a fused op equals the separate ops it stands for bit for bit on `native` under every instruction set, and
 * tfjs cpu's run of the separate ops within `tol`; `fused(i)` and `separate(i)` build case i's output from fresh
 * inputs. `entry` names the addon function the fused op must reach: it is asserted to run once per case and set, so
 * that a silent fallback to the separate ops cannot pass.
 */
export function expectFusedEqualsSeparate(
  entry: keyof ReturnType<typeof loadNativeAddon>, cases: number, fused: (i: number) => tf.Tensor, separate: (i: number) => tf.Tensor, tol: number,
): void {
  const calls = vi.spyOn(loadNativeAddon(), entry);
  try {
    const ran = onEveryIsa((isa) => {
      for (let i = 0; i < cases; i++) {
        const [got] = runOn('native', () => [fused(i)]);
        const [apart] = runOn('native', () => [separate(i)]);
        expect(Array.from(got!), `${isa}: case ${i}`).toEqual(Array.from(apart!));
        const [reference] = runOn('cpu', () => [separate(i)]);
        expect(relativeError(got!, reference!), `${isa}: case ${i}`).toBeLessThan(tol);
      }
    });
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(calls).toHaveBeenCalledTimes(ran.length * cases);
  } finally {
    calls.mockRestore();
  }
}

/**
 * Asserts the gradients `grads(true)` takes through a fused op equal `grads(false)`'s through the separate ops, bit for
 * bit on `native`: under a tape the fused op must record the separate ops (its kernel has no gradient).
 */
export function expectGradientsOfSeparate(grads: (fused: boolean) => tf.Tensor[]): void {
  const [viaFused, viaSeparate] = [true, false].map((fused) => runOn('native', () => grads(fused)));
  viaFused!.forEach((g, i) => expect(Array.from(g), `gradient ${i}`).toEqual(Array.from(viaSeparate![i]!)));
}
