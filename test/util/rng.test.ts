import seedrandom from 'seedrandom';
import { describe, expect, it, vi } from 'vitest';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';

/** The stream as seedrandom itself draws it, with Box-Muller as Rng documents it: the independent reference. */
function referenceNormals(seed: string, count: number): Float32Array {
  const prng = seedrandom(seed, { state: true });
  const out = new Float32Array(count);
  for (let k = 0; k < count; k += 2) {
    let u = 0;
    while (u <= Number.EPSILON) u = prng.double();
    const v = prng.double();
    const r = Math.sqrt(-2 * Math.log(u));
    out[k] = r * Math.cos(2 * Math.PI * v);
    if (k + 1 < count) out[k + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

describe('Rng', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xa = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xa);
  });

  it('draws the same doubles as seedrandom, bit for bit, and hands back a state seedrandom continues', () => {
    for (const seed of ['0', 'label:1f2e:lfw/a.png', 'x']) {
      const ours = new Rng(seed);
      const theirs = seedrandom(seed, { state: true });
      for (let k = 0; k < 20_000; k++) expect(ours.uniform()).toBe(theirs.double());
      const resumed = seedrandom('', { state: (ours.state() as { arc4: seedrandom.State.Arc4 }).arc4 });
      for (let k = 0; k < 100; k++) expect(resumed.double()).toBe(ours.uniform());
    }
  });

  it('normalArray equals normal() called n times, whatever spare value is cached', () => {
    const expected = referenceNormals('n', 1001);
    expect(new Rng('n').normalArray(1001)).toEqual(expected);
    const split = new Rng('n');
    // 3 leaves a spare cached, which 5 starts with; normal() caches another, which 992 starts with.
    const parts = [split.normalArray(3), split.normalArray(0), split.normalArray(5), Float32Array.of(split.normal()), split.normalArray(992)];
    expect(Float32Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(expected);
  });

  it('continues the exact stream after a state round-trip through JSON', () => {
    const a = new Rng('run');
    a.normal(); // leaves a cached spare normal in the state
    const saved = JSON.parse(JSON.stringify(a.state()));
    const expected = [a.normal(), a.uniform(), a.int(0, 9)];
    const b = Rng.fromState(saved);
    expect([b.normal(), b.uniform(), b.int(0, 9)]).toEqual(expected);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const r = new Rng(1);
    const xs = r.normalArray(200_000);
    let m = 0;
    for (const x of xs) m += x;
    m /= xs.length;
    let v = 0;
    for (const x of xs) v += (x - m) ** 2;
    v /= xs.length;
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
  });

  it('int() covers its inclusive range uniformly', () => {
    const r = new Rng(3);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 40_000; i++) counts[r.int(2, 5) - 2]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('deriveSeed depends on key and base only', () => {
    expect(deriveSeed(1, 'a/b.jpg')).toBe(deriveSeed(1, 'a/b.jpg'));
    expect(deriveSeed(1, 'a/b.jpg')).not.toBe(deriveSeed(2, 'a/b.jpg'));
    expect(deriveSeed(1, 'a/b.jpg')).not.toBe(deriveSeed(1, 'a/c.jpg'));
  });
});

describe('Rng.normalArrays (several generators at once, RC4 draws on the native addon)', () => {
  const seeds = ['img/a.png', 'img/b.png', 'img/c.png'];

  it("equals each generator's normalArray, concatenated, and leaves every state where normalArray leaves it", () => {
    for (const per of [0, 2, 4096, 1001]) {
      const batch = seeds.map((s) => new Rng(s));
      const alone = seeds.map((s) => new Rng(s));
      const got = Rng.normalArrays(batch, per);
      const want = new Float32Array(seeds.length * per);
      alone.forEach((r, g) => want.set(r.normalArray(per), g * per));
      expect(got).toEqual(want);
      // The streams continue identically: the next draws (and any cached spare) agree.
      batch.forEach((r, g) => expect([r.normal(), r.uniform()]).toEqual([alone[g]!.normal(), alone[g]!.uniform()]));
    }
  });

  it('matches the seedrandom reference stream, also when a spare normal is cached', () => {
    const r = new Rng('spare');
    const first = r.normal(); // caches the pair's second value
    const rest = Rng.normalArrays([r], 2000);
    expect(Float32Array.of(first, ...rest)).toEqual(referenceNormals('spare', 2001));
    expect(Rng.normalArrays([new Rng('x'), new Rng('y')], 5000)).toEqual(Float32Array.of(...referenceNormals('x', 5000), ...referenceNormals('y', 5000)));
  });

  it("the addon's arc4UniformPairs draws seedrandom's doubles and rejects as Rng does; bad buffers are named", () => {
    const addon = loadNativeAddon();
    const states = new Uint8Array(2 * 258);
    ['p', 'q'].forEach((seed, g) => {
      const { arc4 } = new Rng(seed).state() as { arc4: { i: number; j: number; S: number[] } };
      states.set(arc4.S, g * 258);
      states[g * 258 + 256] = arc4.i;
      states[g * 258 + 257] = arc4.j;
    });
    const out = new Float64Array(2 * 2 * 3000);
    addon.arc4UniformPairs(states, 3000, out);
    ['p', 'q'].forEach((seed, g) => {
      const prng = seedrandom(seed, { state: true });
      const want = Array.from({ length: 6000 }, () => prng.double());
      expect(Array.from(out.subarray(g * 6000, (g + 1) * 6000))).toEqual(want);
    });
    // normalArrays uses it (an even count, no spare), once for all its generators.
    const spy = vi.spyOn(addon, 'arc4UniformPairs');
    Rng.normalArrays([new Rng(1), new Rng(2)], 8);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    expect(() => addon.arc4UniformPairs(new Uint8Array(257), 1, new Float64Array(2))).toThrow(/states/);
    expect(() => addon.arc4UniformPairs(new Uint8Array(258), 2, new Float64Array(2))).toThrow(/out/);
  });
});
