import { describe, expect, it } from 'vitest';
import { averageRanks, spearman } from '../../src/eval/rank-correlation.js';

describe('spearman', () => {
  it('averages tied ranks', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
  });

  it('is 1 / -1 for monotone relations and matches a hand-computed value with ties', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 35, 90])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks a = [1,2,3,4], ranks b = [1, 2.5, 2.5, 4]: Pearson = 4.5 / sqrt(5 * 4.5) = 0.948683 (scipy: 0.9486833).
    expect(spearman([1, 2, 3, 4], [0, 7, 7, 9])).toBeCloseTo(0.9486833, 6);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
});
