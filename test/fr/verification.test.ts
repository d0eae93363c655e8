import { describe, expect, it } from 'vitest';
import { computeVerificationAccuracy, cosineSimilarity, selectBestThreshold, type VerificationPair } from '../../src/fr/verification.js';
import { Rng } from '../../src/util/rng.js';

describe('verification accuracy', () => {
  it('selectBestThreshold maximises training accuracy (checked against a brute-force scan)', () => {
    const rng = new Rng(3);
    const pairs: VerificationPair[] = Array.from({ length: 200 }, (_, i) => ({
      mated: i % 2 === 0,
      score: (i % 2 === 0 ? 0.5 : 0.1) + rng.normal() * 0.2,
      fold: 1,
    }));
    const acc = (t: number): number => pairs.filter((p) => p.score > t === p.mated).length;
    const t = selectBestThreshold(pairs);
    let best = 0;
    for (let s = -1; s <= 1.5; s += 1e-4) best = Math.max(best, acc(s));
    expect(acc(t)).toBe(best);
  });

  it('k-fold: perfectly separable folds give 1; a shifted held-out fold is scored with the others\' threshold', () => {
    const pairs: VerificationPair[] = [];
    for (let f = 1; f <= 3; f++) for (let i = 0; i < 10; i++) pairs.push({ fold: f, mated: i < 5, score: i < 5 ? 0.8 : 0.2 });
    expect(computeVerificationAccuracy(pairs).mean).toBe(1);
    // Fold 4: everything scored at 0.6 -> threshold (from folds 1-3) ~0.5 calls all mated: 50 %.
    for (let i = 0; i < 10; i++) pairs.push({ fold: 4, mated: i < 5, score: 0.6 });
    const r = computeVerificationAccuracy(pairs);
    expect(r.perFold[3]).toBe(0.5);
    expect(r.perFold.slice(0, 3)).toEqual([1, 1, 1]);
  });

  it('cosineSimilarity', () => {
    expect(cosineSimilarity([1, 0], [0, 2])).toBe(0);
    expect(cosineSimilarity([1, 1], [2, 2])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([0, 0], [1, 2])).toBe(0);
  });
});
