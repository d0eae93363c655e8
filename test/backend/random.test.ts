/**
 * The labeller's normal draws on the native addon (src/backend/random.ts, native/random_impl.cc): the addon's uniform
 * doubles against seedrandom's own, its Box-Muller against V8's Math, and parallelNormalArrays against each
 * generator's JS normalArray.
 */
import seedrandom from 'seedrandom';
import { describe, expect, it, vi } from 'vitest';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { parallelNormalArrays } from '../../src/backend/random.js';
import { tf } from '../../src/backend/tf.js';
import { ARC4_STATE_BYTES, Rng } from '../../src/util/rng.js';

/** The RC4 state blocks of fresh generators for `seeds`, as the addon takes them. */
function statesOf(seeds: string[]): Uint8Array {
  const states = new Uint8Array(seeds.length * ARC4_STATE_BYTES);
  seeds.forEach((seed, g) => {
    const { arc4 } = new Rng(seed).state() as { arc4: { i: number; j: number; S: number[] } };
    states.set(arc4.S, g * ARC4_STATE_BYTES);
    states[g * ARC4_STATE_BYTES + 256] = arc4.i;
    states[g * ARC4_STATE_BYTES + 257] = arc4.j;
  });
  return states;
}

/** Box-Muller with V8's Math on a pair, in double. */
function v8Pair(u: number, v: number): [number, number] {
  const r = Math.sqrt(-2 * Math.log(u));
  return [r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v)];
}

/** How many ulps a double lies from the nearest float32 rounding boundary (its 29 dropped bits against halfway). */
function ulpsFromTie(z: number): number {
  const bits = new BigUint64Array(Float64Array.of(z).buffer)[0]!;
  return Math.abs(Number(bits & 0x1fffffffn) - 0x10000000);
}

describe('native normal draws', () => {
  it("arc4Normals draws seedrandom's doubles for every generator, in parallel, and advances their states", () => {
    const addon = loadNativeAddon();
    const seeds = ['p', 'q', 'r'];
    const states = statesOf(seeds);
    // With the widest guard every pair comes back as (index, u, v): the uniforms themselves can be checked.
    const left = addon.arc4Normals(states, 3000, new Float32Array(seeds.length * 6000), 2 ** 28);
    expect(left.length).toBe(seeds.length * 3000 * 3);
    seeds.forEach((seed, g) => {
      const prng = seedrandom(seed, { state: true });
      for (let p = 0; p < 3000; p++) {
        const [k, u, v] = left.subarray((g * 3000 + p) * 3, (g * 3000 + p + 1) * 3);
        let want = 0;
        while (want <= Number.EPSILON) want = prng.double();
        expect([k, u, v]).toEqual([g * 6000 + 2 * p, want, prng.double()]);
      }
      const after = prng.state() as unknown as { i: number; j: number; S: number[] };
      const at = g * ARC4_STATE_BYTES;
      expect([...states.subarray(at, at + 256)]).toEqual(after.S);
      expect([states[at + 256], states[at + 257]]).toEqual([after.i, after.j]);
    });
  });

  it("computes Box-Muller as V8's Math does, and hands back exactly the pairs near a float32 rounding boundary", () => {
    const addon = loadNativeAddon();
    const pairs = 500_000;
    const out = new Float32Array(2 * pairs);
    const all = addon.arc4Normals(statesOf(['bm']), pairs, new Float32Array(2 * pairs), 2 ** 28);
    const left = addon.arc4Normals(statesOf(['bm']), pairs, out, 1024);
    // A guard of 1024 ulps flags about 2 * 2049 / 2^29 of the values: a handful here, not none and not many.
    expect(left.length / 3).toBeGreaterThan(0);
    expect(left.length / 3).toBeLessThan(30);
    const flagged = new Set<number>();
    for (let h = 0; h < left.length; h += 3) flagged.add(left[h]!);
    let differ = 0;
    for (let p = 0; p < pairs; p++) {
      const [c, s] = v8Pair(all[3 * p + 1]!, all[3 * p + 2]!);
      if (flagged.has(2 * p)) {
        // Handed back because one of its doubles is near a tie (V8's double within the guard and a few ulps).
        expect(Math.min(ulpsFromTie(c), ulpsFromTie(s))).toBeLessThanOrEqual(1024 + 16);
        continue;
      }
      // Every value not handed back is V8's to the last bit (its double was at least 1024 ulps from a tie).
      if (out[2 * p] !== Math.fround(c) || out[2 * p + 1] !== Math.fround(s)) differ++;
    }
    expect(differ).toBe(0);
  });

  it('names a bad state, output buffer or guard', () => {
    const addon = loadNativeAddon();
    expect(() => addon.arc4Normals(new Uint8Array(257), 1, new Float32Array(2))).toThrow(/states/);
    expect(() => addon.arc4Normals(new Uint8Array(258), 2, new Float32Array(2))).toThrow(/out/);
    expect(() => addon.arc4Normals(new Uint8Array(258), 1, new Float32Array(2), -1)).toThrow(/guard/);
  });

  it("parallelNormalArrays equals each generator's normalArray and runs the addon once for all of them", () => {
    const addon = loadNativeAddon();
    const spy = vi.spyOn(addon, 'arc4Normals');
    const seeds = ['img/0.png', 'img/1.png'];
    const got = parallelNormalArrays(seeds.map((s) => new Rng(s)), 752_640); // one cpu-small labeller draw per image
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const want = new Float32Array(got.length);
    seeds.forEach((s, g) => want.set(new Rng(s).normalArray(752_640), g * 752_640));
    expect(got).toEqual(want);
  });

  it('on native, draws into the backend\'s recycled arrays: a disposed noise tensor\'s array comes back', async () => {
    await tf.setBackend('native');
    const first = parallelNormalArrays([new Rng('r1'), new Rng('r2')], 50_000);
    const noise = tf.tensor1d(first); // as the labeller wraps its draws
    noise.dispose();
    const second = parallelNormalArrays([new Rng('r3'), new Rng('r4')], 50_000);
    expect(second.buffer).toBe(first.buffer); // the same memory, not a fresh page-faulted array
    const want = new Float32Array(100_000);
    ['r3', 'r4'].forEach((s, g) => want.set(new Rng(s).normalArray(50_000), g * 50_000));
    expect(second).toEqual(want); // every element rewritten
  });
});
