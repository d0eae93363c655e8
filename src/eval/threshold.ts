/**
 * Similarity thresholds at a target false match rate (FMR), METHOD.md §5.2.
 *
 * Decision rule everywhere in src/eval: a comparison is a MATCH iff `score >= threshold` (fiqat's FNMR error is
 * `score < threshold`). FMR(t) = #{non-mated score >= t} / #non-mated.
 *
 * Candidate thresholds are the distinct values of all given scores (mated and non-mated, as CR-FIQA `ERC/roc.py`
 * does) plus +Infinity ("reject everything", so that an FMR of 0 is always reachable; CR-FIQA lacks this candidate,
 * a deliberate departure that only matters when no score lies above the highest non-mated score).
 */
import { DataError } from '../util/errors.js';

/** How the operating point is chosen among the candidate thresholds. */
export type ThresholdRule =
  /** The lowest candidate whose FMR does not exceed the target (ISO/IEC 29794-1 style; never over the target). */
  | 'at-most'
  /** The candidate whose |FMR - target| is smallest, ties to the lowest threshold (CR-FIQA `get_fmr_op` arg-min). */
  | 'closest';

/** The chosen threshold and the FMR it achieves on the non-mated scores it was fitted on. */
export interface FmrOperatingPoint {
  threshold: number;
  fmr: number;
}

/**
 * Selects the similarity threshold for `targetFmr` on the given scores (float64 throughout).
 * Returns `{threshold: NaN, fmr: NaN}` when there are no non-mated scores (the FMR is undefined).
 * @param matedScores similarity of mated pairs (only used as extra candidate thresholds)
 * @param nonMatedScores similarity of non-mated pairs
 * @throws DataError if a score is not finite
 */
export function selectFmrThreshold(
  matedScores: ArrayLike<number>,
  nonMatedScores: ArrayLike<number>,
  targetFmr: number,
  rule: ThresholdRule,
): FmrOperatingPoint {
  const nNon = nonMatedScores.length;
  if (nNon === 0) return { threshold: NaN, fmr: NaN };
  const candidates = sortedDistinct(matedScores, nonMatedScores);
  const non = Float64Array.from(nonMatedScores).sort();
  // Sweep candidates ascending; `below` counts non-mated scores < t, so FMR(t) = (nNon - below) / nNon.
  let below = 0;
  let best: FmrOperatingPoint | null = null;
  for (const t of candidates) {
    while (below < nNon && (non[below] as number) < t) below++;
    const fmr = (nNon - below) / nNon;
    if (rule === 'at-most') {
      if (fmr <= targetFmr) return { threshold: t, fmr };
    } else if (best === null || Math.abs(fmr - targetFmr) < Math.abs(best.fmr - targetFmr)) {
      best = { threshold: t, fmr };
    }
  }
  // 'at-most' always returns inside the loop (+Infinity has FMR 0); 'closest' always sets `best`.
  return best as FmrOperatingPoint;
}

/** Distinct finite scores ascending, then +Infinity. */
function sortedDistinct(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const all = new Float64Array(a.length + b.length);
  for (let i = 0; i < a.length; i++) all[i] = checkFinite(a[i] as number);
  for (let i = 0; i < b.length; i++) all[a.length + i] = checkFinite(b[i] as number);
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const v = all[i] as number;
    if (i === 0 || v !== all[i - 1]) out.push(v);
  }
  out.push(Infinity);
  return out;
}

function checkFinite(v: number): number {
  if (!Number.isFinite(v)) throw new DataError('<comparison scores>', `similarity score ${v} is not finite`);
  return v;
}

/** FNMR at `threshold`: the fraction of mated scores below it; NaN if there are none or the threshold is NaN. */
export function computeFnmr(matedScores: ArrayLike<number>, threshold: number): number {
  if (matedScores.length === 0 || Number.isNaN(threshold)) return NaN;
  let errors = 0;
  for (let i = 0; i < matedScores.length; i++) if ((matedScores[i] as number) < threshold) errors++;
  return errors / matedScores.length;
}
