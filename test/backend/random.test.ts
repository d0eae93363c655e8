/**
 * The labeller's normal draws with the RC4 streams on the native addon (src/backend/random.ts, native/random_impl.cc):
 * the addon's doubles against seedrandom's own, and parallelNormalArrays against each generator's JS normalArray.
 */
import seedrandom from 'seedrandom';
import { describe, expect, it, vi } from 'vitest';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { parallelNormalArrays } from '../../src/backend/random.js';
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

describe('native RC4 draws', () => {
  it("arc4UniformPairs draws seedrandom's doubles for every generator, in parallel, and advances their states", () => {
    const addon = loadNativeAddon();
    const seeds = ['p', 'q', 'r'];
    const states = statesOf(seeds);
    const out = new Float64Array(seeds.length * 2 * 3000);
    addon.arc4UniformPairs(states, 3000, out);
    seeds.forEach((seed, g) => {
      const prng = seedrandom(seed, { state: true });
      expect(Array.from(out.subarray(g * 6000, (g + 1) * 6000))).toEqual(Array.from({ length: 6000 }, () => prng.double()));
      const after = prng.state() as unknown as { i: number; j: number; S: number[] };
      const at = g * ARC4_STATE_BYTES;
      expect([...states.subarray(at, at + 256)]).toEqual(after.S);
      expect([states[at + 256], states[at + 257]]).toEqual([after.i, after.j]);
    });
  });

  it('names a bad state or output buffer', () => {
    const addon = loadNativeAddon();
    expect(() => addon.arc4UniformPairs(new Uint8Array(257), 1, new Float64Array(2))).toThrow(/states/);
    expect(() => addon.arc4UniformPairs(new Uint8Array(258), 2, new Float64Array(2))).toThrow(/out/);
  });

  it("parallelNormalArrays equals each generator's normalArray and runs the addon once for all of them", () => {
    const addon = loadNativeAddon();
    const spy = vi.spyOn(addon, 'arc4UniformPairs');
    const seeds = ['img/0.png', 'img/1.png'];
    const got = parallelNormalArrays(seeds.map((s) => new Rng(s)), 752_640); // one cpu-small labeller draw per image
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const want = new Float32Array(got.length);
    seeds.forEach((s, g) => want.set(new Rng(s).normalArray(752_640), g * 752_640));
    expect(got).toEqual(want);
  });
});
