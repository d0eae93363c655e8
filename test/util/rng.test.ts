import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { ARC4_STATE_BYTES, type NormalPairSource, Rng, deriveSeed } from '../../src/util/rng.js';

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

describe('Rng.normalArrays (several generators at once)', () => {
  const seeds = ['img/a.png', 'img/b.png', 'img/c.png'];

  /**
   * A NormalPairSource built on seedrandom itself: each state block continues as a seedrandom ARC4 state, and every
   * pair is handed back for normalArrays' own Box-Muller (out is left untouched).
   */
  const seedrandomPairs: NormalPairSource = (states, pairs) => {
    const left: number[] = [];
    for (let g = 0; g * ARC4_STATE_BYTES < states.length; g++) {
      const at = g * ARC4_STATE_BYTES;
      const S = Array.from(states.subarray(at, at + 256));
      const prng = seedrandom('', { state: { i: states[at + 256]!, j: states[at + 257]!, S } as unknown as seedrandom.State.Arc4 });
      for (let p = 0; p < pairs; p++) {
        let u = 0;
        while (u <= Number.EPSILON) u = prng.double();
        left.push(g * 2 * pairs + 2 * p, u, prng.double());
      }
      const after = prng.state() as unknown as { i: number; j: number; S: number[] };
      states.set(after.S, at);
      states[at + 256] = after.i;
      states[at + 257] = after.j;
    }
    return Float64Array.from(left);
  };

  for (const [name, source] of [['in JS', undefined], ['through a pair source', seedrandomPairs]] as const) {
    it(`equals each generator's normalArray, concatenated, and leaves every state where normalArray leaves it (${name})`, () => {
      for (const per of [0, 2, 4096, 1001]) {
        const batch = seeds.map((s) => new Rng(s));
        const alone = seeds.map((s) => new Rng(s));
        const got = Rng.normalArrays(batch, per, source);
        const want = new Float32Array(seeds.length * per);
        alone.forEach((r, g) => want.set(r.normalArray(per), g * per));
        expect(got).toEqual(want);
        // The streams continue identically: the next draws (and any cached spare) agree.
        batch.forEach((r, g) => expect([r.normal(), r.uniform()]).toEqual([alone[g]!.normal(), alone[g]!.uniform()]));
      }
    });
  }

  it('matches the seedrandom reference stream, also when a spare normal is cached', () => {
    const r = new Rng('spare');
    const first = r.normal(); // caches the pair's second value
    const rest = Rng.normalArrays([r], 2000, seedrandomPairs);
    expect(Float32Array.of(first, ...rest)).toEqual(referenceNormals('spare', 2001));
    const two = Rng.normalArrays([new Rng('x'), new Rng('y')], 5000, seedrandomPairs);
    expect(two).toEqual(Float32Array.of(...referenceNormals('x', 5000), ...referenceNormals('y', 5000)));
  });
});
