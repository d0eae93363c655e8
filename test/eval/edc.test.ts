import { describe, expect, it } from 'vitest';
import { computeEdc, cosineSimilarity, makeDiscardLevels, type EdcInput } from '../../src/eval/edc.js';
import { computePauc, normalisePauc } from '../../src/eval/pauc.js';
import { computeFnmr, selectFmrThreshold, selectFmrThresholdWeighted } from '../../src/eval/threshold.js';
import { ConfigError, DataError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** Builds an EdcInput from [score, mated, quality] rows. */
function rows(list: Array<[number, boolean, number]>): EdcInput {
  return { scores: list.map((r) => r[0]), mated: list.map((r) => r[1]), pairQualities: list.map((r) => r[2]) };
}

describe('selectFmrThreshold', () => {
  it('at-most picks the lowest candidate whose FMR does not exceed the target', () => {
    // Non-mated [0.5, 0.1, 0.0, -0.1]; candidates (all distinct scores) -0.1, 0, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, +Inf.
    // FMR(t) = #non >= t / 4: -0.1 -> 1, 0 -> .75, 0.1 -> .5, 0.2..0.5 -> .25, 0.8 -> 0.
    // Target 0.2: the first candidate with FMR <= 0.2 is 0.8.
    const op = selectFmrThreshold([0.2, 0.9, 0.3, 0.8], [0.5, 0.1, 0.0, -0.1], 0.2, 'at-most');
    expect(op).toEqual({ threshold: 0.8, fmr: 0 });
    // Target 0.25 is reached exactly at t = 0.2 (only 0.5 >= 0.2).
    expect(selectFmrThreshold([0.2, 0.9, 0.3, 0.8], [0.5, 0.1, 0.0, -0.1], 0.25, 'at-most')).toEqual({
      threshold: 0.2,
      fmr: 0.25,
    });
  });

  it('closest breaks a tie in |FMR - target| towards the lower threshold (CR-FIQA arg-min)', () => {
    // Non-mated [0.1, 0.2, 0.3, 0.4], no mated: FMR at 0.1..0.4 = 1, .75, .5, .25; +Inf -> 0.
    // Target 0.375: |0.5 - 0.375| = |0.25 - 0.375| = 0.125 exactly; the lower threshold 0.3 wins.
    expect(selectFmrThreshold([], [0.1, 0.2, 0.3, 0.4], 0.375, 'closest')).toEqual({ threshold: 0.3, fmr: 0.5 });
  });

  it('at-most rejects everything when even the top non-mated score is too many', () => {
    // One non-mated 0.9 is the highest score: only +Inf has FMR 0 <= 1e-3, so every mated pair is rejected.
    const op = selectFmrThreshold([0.5, 0.6], [0.9], 1e-3, 'at-most');
    expect(op.threshold).toBe(Infinity);
    expect(computeFnmr([0.5, 0.6], op.threshold)).toBe(1);
  });

  it('is undefined without non-mated scores', () => {
    expect(Number.isNaN(selectFmrThreshold([0.5], [], 1e-3, 'closest').threshold)).toBe(true);
    expect(Number.isNaN(computeFnmr([0.5], NaN))).toBe(true);
  });
});

describe('computeEdc (fixed threshold)', () => {
  // Mated (score, quality): (0.2, 0.1) (0.9, 0.2) (0.3, 0.3) (0.8, 0.4). Non-mated scores 0.5 0.1 0.0 -0.1.
  // FMR target 0.2 -> fixed threshold 0.8 (see the threshold test). Errors are mated scores < 0.8: 0.2 and 0.3.
  const input = rows([
    [0.2, true, 0.1],
    [0.9, true, 0.2],
    [0.3, true, 0.3],
    [0.8, true, 0.4],
    [0.5, false, 0.5],
    [0.1, false, 0.6],
    [0.0, false, 0.7],
    [-0.1, false, 0.8],
  ]);
  const curve = computeEdc(input, { targetFmr: 0.2, discardLevels: [0, 0.25, 0.5, 0.75] });

  it('discards the lowest-quality mated pairs and keeps the threshold', () => {
    // d=0: 2 errors / 4. d=.25: k=1 drops (0.2): 1 error (0.3) / 3. d=.5: k=2 drops 0.9 too: 1/2. d=.75: only 0.8: 0.
    expect(curve.points.map((p) => p.fnmr)).toEqual([0.5, 1 / 3, 0.5, 0]);
    expect(curve.points.map((p) => p.discardActual)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(curve.points.every((p) => p.threshold === 0.8)).toBe(true);
    expect(curve.points.map((p) => p.matedKept)).toEqual([4, 3, 2, 1]);
    expect(curve.points.every((p) => p.nonMatedKept === 4)).toBe(true);
  });

  it('pAUC cuts the last segment at the limit, and normalises by FNMR(0)·limit', () => {
    // limit 0.3: 0.5·0.25 + (1/3)·(0.3 − 0.25) = 0.125 + 0.016666… = 0.141666…
    const p03 = computePauc(curve.points, 0.3);
    expect(p03).toBeCloseTo(0.125 + 0.05 / 3, 14);
    // normalised: 0.141666… / (0.5·0.3) = 0.944444…
    expect(normalisePauc(p03, 0.5, 0.3)).toBeCloseTo((0.125 + 0.05 / 3) / 0.15, 14);
    // limit 0.6: 0.5·0.25 + (1/3)·0.25 + 0.5·0.1 = 0.258333…
    expect(computePauc(curve.points, 0.6)).toBeCloseTo(0.125 + 0.25 / 3 + 0.05, 14);
    // limit 0.9 > last point (0.75): the last value (0) extends to the limit: 0.125 + 0.08333 + 0.125 + 0.
    expect(computePauc(curve.points, 0.9)).toBeCloseTo(0.125 + 0.25 / 3 + 0.125, 14);
  });

  it('returns NaN normalised pAUC when FNMR(0) is 0', () => {
    expect(Number.isNaN(normalisePauc(0, 0, 0.2))).toBe(true);
  });
});

describe('computeEdc ties', () => {
  it('discards a tie run whole, so the actual fraction exceeds the nominal one', () => {
    // Mated qualities 0.1 0.2 0.2 0.2 0.5 with scores 0.1 0.1 0.9 0.9 0.9; non-mated 0.4 0.3 0.2 0.1 (q 1).
    // Target FMR 0.25 at-most: FMR(0.4) = 1/4 and every lower candidate has a higher FMR -> threshold 0.4.
    // d=0: errors 0.1, 0.1 -> 2/5. d=0.2: k=1, cut q=0.1, drops 1 -> 1 error of 4 = 0.25, actual 0.2.
    // d=0.4: k=2, the 2nd lowest quality is 0.2, tied with two more: all three go (cut q=0.2) -> 4 discarded,
    // actual 0.8, the remaining pair (0.9) is no error -> 0.
    const input = rows([
      [0.1, true, 0.1],
      [0.1, true, 0.2],
      [0.9, true, 0.2],
      [0.9, true, 0.2],
      [0.9, true, 0.5],
      [0.4, false, 1],
      [0.3, false, 1],
      [0.2, false, 1],
      [0.1, false, 1],
    ]);
    const c = computeEdc(input, { targetFmr: 0.25, discardLevels: [0, 0.2, 0.4] });
    expect(c.points.map((p) => p.threshold)).toEqual([0.4, 0.4, 0.4]);
    expect(c.points.map((p) => p.fnmr)).toEqual([0.4, 0.25, 0]);
    expect(c.points.map((p) => p.discard)).toEqual([0, 0.2, 0.4]);
    expect(c.points.map((p) => p.discardActual)).toEqual([0, 0.2, 0.8]);
    // pAUC(0.5) over actual x: 0.4·0.2 + 0.25·(0.5 − 0.2) = 0.155 (the nominal 0.4 point starts at 0.8 > 0.5).
    expect(computePauc(c.points, 0.5)).toBeCloseTo(0.08 + 0.075, 14);
  });

  it('with all qualities equal nothing is discarded until everything is; FNMR is NaN with no mated pair left', () => {
    // 4 mated (scores 0.1 0.9 0.9 0.9) and 2 non-mated (0.5 0.2), every quality 0.7. Target 0.5 at-most:
    // FMR(0.2) = 1, FMR(0.5) = 0.5 -> threshold 0.5; FNMR(0) = 1/4.
    // Any d > 0 asks for >= 1 pair, whose quality ties with all: everything goes (actual 1, matedKept 0, FNMR NaN).
    const input = rows([
      [0.1, true, 0.7],
      [0.9, true, 0.7],
      [0.9, true, 0.7],
      [0.9, true, 0.7],
      [0.5, false, 0.7],
      [0.2, false, 0.7],
    ]);
    const c = computeEdc(input, { targetFmr: 0.5, discardLevels: [0, 0.05, 0.1] });
    expect(c.points[0]?.fnmr).toBe(0.25);
    expect(c.points.slice(1).map((p) => p.discardActual)).toEqual([1, 1]);
    expect(c.points.slice(1).map((p) => p.matedKept)).toEqual([0, 0]);
    expect(c.points.slice(1).every((p) => Number.isNaN(p.fnmr))).toBe(true);
    // The step curve is FNMR(0) on [0, 1): pAUC(0.2) = 0.25·0.2 and the normalised pAUC is exactly 1,
    // at every limit up to 1 (the NaN point sits at x = 1 and has zero width).
    expect(computePauc(c.points, 0.2)).toBeCloseTo(0.05, 15);
    expect(normalisePauc(computePauc(c.points, 0.2), 0.25, 0.2)).toBeCloseTo(1, 14);
    expect(computePauc(c.points, 1)).toBeCloseTo(0.25, 15);
  });

  it('a level that asks for every mated pair leaves FNMR NaN even without ties', () => {
    // 4 distinct mated qualities, d = 0.9: k = ceil(3.6) = 4 -> all discarded.
    const input = rows([
      [0.1, true, 0.1],
      [0.2, true, 0.2],
      [0.3, true, 0.3],
      [0.4, true, 0.4],
      [0.0, false, 0.5],
    ]);
    const c = computeEdc(input, { targetFmr: 0.5, discardLevels: [0, 0.9] });
    expect(c.points[1]?.matedKept).toBe(0);
    expect(c.points[1]?.discardActual).toBe(1);
    expect(Number.isNaN(c.points[1]?.fnmr)).toBe(true);
  });
});

describe('computeEdc fixed vs recompute', () => {
  // Mated (score, q): (0.4, 0.1) (0.6, 0.8) (0.7, 0.9). Non-mated: (0.65, 0.1) a low-quality impostor with a
  // high score, and (0.3, 0.95) (0.2, 0.95) (0.1, 0.95). Target FMR 0.2, rule at-most in both modes so that only
  // the recomputation differs.
  // d = 0: FMR(0.4..0.65) = 1/4 > 0.2; FMR(0.7) = 0 -> threshold 0.7; FNMR = #{0.4, 0.6} / 3 = 2/3 (both modes).
  // d = 0.3: k = ceil(0.9) = 1, cut q = 0.1: mated 0.4 goes, and in recompute mode the impostor 0.65 (q 0.1) too.
  //   fixed: threshold stays 0.7, kept mated 0.6 0.7 -> FNMR 1/2.
  //   recompute: non-mated 0.3 0.2 0.1 remain; candidates 0.1 0.2 0.3 0.6 0.7 Inf with FMR 1, 2/3, 1/3, 0, 0, 0
  //   -> threshold 0.6, FNMR 0 (0.6 is not < 0.6).
  const input = rows([
    [0.4, true, 0.1],
    [0.6, true, 0.8],
    [0.7, true, 0.9],
    [0.65, false, 0.1],
    [0.3, false, 0.95],
    [0.2, false, 0.95],
    [0.1, false, 0.95],
  ]);
  const levels = [0, 0.3];

  it('fixed keeps the d = 0 threshold', () => {
    const c = computeEdc(input, { targetFmr: 0.2, discardLevels: levels, thresholdRule: 'at-most' });
    expect(c.points.map((p) => p.threshold)).toEqual([0.7, 0.7]);
    expect(c.points.map((p) => p.fnmr)).toEqual([2 / 3, 0.5]);
    expect(c.points.map((p) => p.nonMatedKept)).toEqual([4, 4]);
  });

  it('recompute refits on the remaining pairs, discarding non-mated pairs by the same quality cut', () => {
    const c = computeEdc(input, {
      targetFmr: 0.2,
      discardLevels: levels,
      thresholdMode: 'recompute',
      thresholdRule: 'at-most',
    });
    expect(c.points.map((p) => p.threshold)).toEqual([0.7, 0.6]);
    expect(c.points.map((p) => p.fnmr)).toEqual([2 / 3, 0]);
    expect(c.points.map((p) => p.nonMatedKept)).toEqual([4, 3]);
  });

  it('recompute defaults to the closest-FMR rule', () => {
    // d = 0: FMR 1/4 at candidates 0.4..0.65 is closest to 0.2 (|0.05| < |0 − 0.2|) -> lowest such t = 0.4,
    //   FNMR 0 (no mated score < 0.4).
    // d = 0.3: FMR 1/3 at t = 0.3 (|0.133|) beats FMR 0 (|0.2|) -> t = 0.3, FNMR 0.
    const c = computeEdc(input, { targetFmr: 0.2, discardLevels: levels, thresholdMode: 'recompute' });
    expect(c.points.map((p) => p.threshold)).toEqual([0.4, 0.3]);
    expect(c.points.map((p) => p.fnmr)).toEqual([0, 0]);
  });
});

describe('computeEdc recompute without non-mated pairs left', () => {
  it('has no threshold and a NaN FNMR once the quality cut removes every non-mated pair', () => {
    // Mated (0.8, q 0.5) (0.9, q 0.9); one non-mated (0.1, q 0.1). d = 0.5: k = 1, cut q = 0.5 removes the first
    // mated pair and the non-mated pair (0.1 <= 0.5): one mated pair remains but no FMR can be measured.
    const c = computeEdc(
      rows([
        [0.8, true, 0.5],
        [0.9, true, 0.9],
        [0.1, false, 0.1],
      ]),
      { targetFmr: 0.5, discardLevels: [0, 0.5], thresholdMode: 'recompute' },
    );
    expect(c.points[1]?.matedKept).toBe(1);
    expect(c.points[1]?.nonMatedKept).toBe(0);
    expect(Number.isNaN(c.points[1]?.threshold)).toBe(true);
    expect(Number.isNaN(c.points[1]?.fnmr)).toBe(true);
  });
});

describe('EDC helpers and validation', () => {
  it('builds the 0..0.95 grid with 20 clean levels', () => {
    const g = makeDiscardLevels();
    expect(g.length).toBe(20);
    expect(g[3]).toBe(0.15);
    expect(g[19]).toBe(0.95);
    expect(makeDiscardLevels(0.6, 0.05).length).toBe(13);
  });

  it('computes cosine similarity in float64', () => {
    // (1,2,2)·(2,0,1) = 4; norms 3 and sqrt(5) -> 4 / (3·sqrt 5).
    expect(cosineSimilarity(new Float32Array([1, 2, 2]), new Float32Array([2, 0, 1]))).toBeCloseTo(4 / (3 * Math.sqrt(5)), 7);
    expect(() => cosineSimilarity([0, 0], [1, 0])).toThrow(DataError);
  });

  it('rejects bad levels, FMR, limits and missing classes', () => {
    const ok = rows([
      [0.5, true, 1],
      [0.1, false, 1],
    ]);
    expect(() => computeEdc(ok, { targetFmr: 1e-3, discardLevels: [0.05, 0.1] })).toThrow(ConfigError);
    expect(() => computeEdc(ok, { targetFmr: 1e-3, discardLevels: [0, 0.2, 0.1] })).toThrow(/strictly increasing/);
    expect(() => computeEdc(ok, { targetFmr: 0 })).toThrow(/fmr/);
    expect(() => computeEdc(rows([[0.5, true, 1]]), { targetFmr: 1e-3 })).toThrow(/non-mated/);
    expect(() => computeEdc(rows([[0.5, true, NaN], [0.1, false, 1]]), { targetFmr: 1e-3 })).toThrow(DataError);
    expect(() => computePauc([{ discardActual: 0, fnmr: 1 }], 1.5)).toThrow(ConfigError);
  });
});

describe('computeEdc recompute refits against an independent loop', () => {
  /**
   * The recompute mode's definition written out directly: at each level, keep the pairs with quality above the
   * cut, take every distinct kept score (and +Infinity) as a candidate, pick the candidate whose FMR on the kept
   * non-mated pairs is closest to the target (ties: the lowest), and count kept mated scores below it.
   */
  function referenceRecompute(s: number[], m: boolean[], q: number[], fmr: number, levels: number[]): number[] {
    const matedQ = q.filter((_, i) => m[i]).sort((a, b) => a - b);
    return levels.map((d) => {
      const k = Math.ceil(d * matedQ.length - 1e-9);
      const cut = k === 0 ? -Infinity : (matedQ[k - 1] as number);
      const kept = s.map((_, i) => i).filter((i) => (q[i] as number) > cut);
      const non = kept.filter((i) => !m[i]).map((i) => s[i] as number);
      const mated = kept.filter((i) => m[i]).map((i) => s[i] as number);
      const candidates = [...new Set(kept.map((i) => s[i] as number))].sort((a, b) => a - b).concat([Infinity]);
      let best = { t: NaN, err: Infinity };
      for (const t of candidates) {
        const err = Math.abs(non.filter((x) => x >= t).length / non.length - fmr);
        if (err < best.err) best = { t, err };
      }
      return mated.filter((x) => x < best.t).length / mated.length;
    });
  }

  it('gives the same FNMR at every level on random data with tied scores and qualities', () => {
    const rng = new Rng('recompute-ref');
    for (let trial = 0; trial < 5; trial++) {
      const n = 400;
      const m = Array.from({ length: n }, (_, i) => i % 3 === 0);
      const q = Array.from({ length: n }, () => Math.round(rng.uniform() * 30) / 30);
      const s = m.map((mated, i) => Math.round(((mated ? 0.5 + 0.4 * (q[i] as number) : 0) + 0.2 * rng.normal()) * 200) / 200);
      const levels = makeDiscardLevels(0.9, 0.1);
      const got = computeEdc({ scores: s, mated: m, pairQualities: q }, { targetFmr: 0.02, discardLevels: levels, thresholdMode: 'recompute' });
      expect(got.points.map((p) => p.fnmr)).toEqual(referenceRecompute(s, m, q, 0.02, levels));
    }
  });
});

describe('selectFmrThresholdWeighted', () => {
  /** The rules' definition on explicit lists: every distinct score and +Infinity, ascending; first best wins. */
  function reference(mated: number[], non: number[], target: number, rule: 'at-most' | 'closest'): { threshold: number; fmr: number } {
    const candidates = [...new Set([...mated, ...non])].sort((a, b) => a - b).concat([Infinity]);
    let best: { threshold: number; fmr: number } | null = null;
    for (const t of candidates) {
      const fmr = non.filter((x) => x >= t).length / non.length;
      if (rule === 'at-most' && fmr <= target) return { threshold: t, fmr };
      if (rule === 'closest' && (best === null || Math.abs(fmr - target) < Math.abs(best.fmr - target))) best = { threshold: t, fmr };
    }
    return best as { threshold: number; fmr: number };
  }

  it('equals the definition on the lists repeated by their weights (0 = absent), for both rules', () => {
    const rng = new Rng('weighted-threshold');
    for (let trial = 0; trial < 200; trial++) {
      const m = Array.from({ length: 1 + rng.int(0, 30) }, () => Math.round(rng.normal() * 8) / 8 + 0).sort((a, b) => a - b);
      const n = Array.from({ length: 1 + rng.int(0, 30) }, () => Math.round(rng.normal() * 8) / 8 + 0).sort((a, b) => a - b);
      const mw = m.map(() => rng.int(0, 2));
      const nw = n.map(() => rng.int(0, 2));
      if (!nw.some((w) => w > 0)) nw[0] = 1;
      const repeat = (v: number[], w: number[]) => v.flatMap((x, i) => Array<number>(w[i] as number).fill(x));
      const target = [0.01, 0.1, 0.25, 0.5][trial % 4] as number;
      for (const rule of ['at-most', 'closest'] as const) {
        expect(selectFmrThresholdWeighted(m, mw, n, nw, target, rule), `${trial} ${rule}`).toEqual(reference(repeat(m, mw), repeat(n, nw), target, rule));
      }
    }
  });
});
