/**
 * The identity bootstrap of the normalised pAUC (src/eval/bootstrap.ts): what a sample contains, exact intervals
 * where the answer is known, and the statistics behaving as they must (seeded, narrowing with more identities,
 * separating an informative quality from a random one).
 */
import { describe, expect, it } from 'vitest';
import { drawClusterSamples, identityOfKey, paucIntervals, quantile } from '../../src/eval/bootstrap.js';
import { evaluate } from '../../src/eval/evaluate.js';
import type { ScoredPair } from '../../src/eval/inputs.js';
import { ConfigError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/**
 * A synthetic verification set: `people` identities, each with 4 images of quality u ~ U(0,1); mated pairs score
 * high unless their pair quality is low, non-mated pairs score low. Returns comparisons and per-image qualities.
 */
function syntheticSet(people: number, seed: number): { comparisons: ScoredPair[]; quality: Map<string, number> } {
  const rng = new Rng(seed);
  const quality = new Map<string, number>();
  const img = (p: number, i: number): string => `images/P${p}/P${p}_000${i}.jpg`;
  for (let p = 0; p < people; p++) for (let i = 0; i < 4; i++) quality.set(img(p, i), rng.uniform());
  const comparisons: ScoredPair[] = [];
  for (let p = 0; p < people; p++) {
    for (let i = 1; i < 4; i++) {
      const q = Math.min(quality.get(img(p, 0))!, quality.get(img(p, i))!);
      comparisons.push({ a: img(p, 0), b: img(p, i), mated: true, fold: 1, score: 0.3 + 0.6 * q + 0.1 * rng.normal() });
      const other = (p + i) % people;
      comparisons.push({ a: img(p, i), b: img(other, 0), mated: false, fold: 1, score: 0.1 * rng.normal() });
    }
  }
  return { comparisons, quality };
}

const pairQ = (c: readonly ScoredPair[], q: ReadonlyMap<string, number>): Float64Array => Float64Array.from(c, (x) => Math.min(q.get(x.a)!, q.get(x.b)!));

describe('identity bootstrap of the normalised pAUC', () => {
  it('takes the identity of a key from its folder, without a CFP pose folder', () => {
    expect(identityOfKey('images/Abel_Pacheco/Abel_Pacheco_0001.jpg')).toBe('images/Abel_Pacheco');
    expect(identityOfKey('Data/Images/001/frontal/01.jpg')).toBe('Data/Images/001');
    expect(identityOfKey('001/profile/02.png')).toBe('001');
    expect(identityOfKey('xq/images/A/A_0001.png')).toBe('xq/images/A');
  });

  it('draws whole identities with replacement: every sample is a union of clusters, as many as there are', () => {
    const { comparisons } = syntheticSet(30, 1);
    const samples = drawClusterSamples(comparisons, { samples: 20, seed: 7 });
    expect(samples).toHaveLength(20);
    for (const s of samples) {
      const count = new Map<string, number>();
      for (const i of s) count.set(identityOfKey(comparisons[i]!.a), (count.get(identityOfKey(comparisons[i]!.a)) ?? 0) + 1);
      // Each drawn identity contributes all its comparisons (a multiple of its cluster size)...
      for (const [id, n] of count) expect(n % comparisons.filter((c) => identityOfKey(c.a) === id).length).toBe(0);
      // ...and the sample has as many clusters as there are identities.
      const clusters = [...count].reduce((a, [id, n]) => a + n / comparisons.filter((c) => identityOfKey(c.a) === id).length, 0);
      expect(clusters).toBe(new Set(comparisons.map((c) => identityOfKey(c.a))).size);
    }
    expect(drawClusterSamples(comparisons, { samples: 3, seed: 7 })).toEqual(samples.slice(0, 3));
    expect(() => drawClusterSamples(comparisons, { samples: 0, seed: 1 })).toThrow(ConfigError);
  });

  it('gives a zero-width interval at the point estimate when there is one identity (every sample is the set)', () => {
    const { comparisons, quality } = syntheticSet(40, 2);
    const [result] = evaluate({ fr: 'x', dataset: 'd', comparisons, qualities: new Map([['q', quality]]), limits: [0.3], fmr: 0.01, bootstrap: { samples: 5, seed: 1, identityOf: () => 'one' } });
    const p = result!.paucs[0]!;
    expect(p.ci!.samples).toBe(5);
    expect(p.ci!.lo).toBeCloseTo(p.paucNorm, 12);
    expect(p.ci!.hi).toBeCloseTo(p.paucNorm, 12);
  });

  it('is seeded, narrows with more identities, and separates an informative quality from a random one', () => {
    const width = (people: number): { width: number; informative: [number, number]; random: [number, number] } => {
      const { comparisons, quality } = syntheticSet(people, 3);
      const rng = new Rng(9);
      const random = new Map([...quality.keys()].map((k) => [k, rng.uniform()]));
      const samples = drawClusterSamples(comparisons, { samples: 200, seed: 4 });
      const edc = { targetFmr: 0.01, thresholdMode: 'fixed' as const };
      const [good] = paucIntervals(comparisons, pairQ(comparisons, quality), samples, [0.3], edc);
      const [rand] = paucIntervals(comparisons, pairQ(comparisons, random), samples, [0.3], edc);
      return { width: good!.hi - good!.lo, informative: [good!.lo, good!.hi], random: [rand!.lo, rand!.hi] };
    };
    const small = width(50);
    const large = width(800);
    expect(large.width).toBeLessThan(small.width * 0.5); // 16x the identities: about a quarter of the width
    expect(large.informative[1]).toBeLessThan(large.random[0]);
    const { comparisons, quality } = syntheticSet(50, 3);
    const run = (seed: number) => evaluate({ fr: 'x', dataset: 'd', comparisons, qualities: new Map([['q', quality]]), fmr: 0.01, bootstrap: { samples: 50, seed } })[0]!.paucs[0]!.ci;
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it('interpolates quantiles between order statistics', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([0, 10], 0.025)).toBeCloseTo(0.25, 12);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
