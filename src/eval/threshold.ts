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
  if (nonMatedScores.length === 0) return { threshold: NaN, fmr: NaN };
  return selectFmrThresholdSorted(sortedFinite(matedScores), sortedFinite(nonMatedScores), targetFmr, rule);
}

/**
 * {@link selectFmrThreshold} on scores that are already finite and sorted ascending: the candidates are walked by
 * merging the two lists, with no copy and no sort, so that an EDC can refit its threshold at every discard level in
 * linear time (edc.ts).
 */
export function selectFmrThresholdSorted(mated: ArrayLike<number>, nonMated: ArrayLike<number>, targetFmr: number, rule: ThresholdRule): FmrOperatingPoint {
  const nNon = nonMated.length;
  if (nNon === 0) return { threshold: NaN, fmr: NaN };
  let below = 0;
  let best: FmrOperatingPoint | null = null;
  /** The operating point at candidate t; `at-most` takes the first that reaches the target. */
  const consider = (t: number): FmrOperatingPoint | null => {
    while (below < nNon && (nonMated[below] as number) < t) below++;
    const fmr = (nNon - below) / nNon;
    if (rule === 'at-most') return fmr <= targetFmr ? { threshold: t, fmr } : null;
    if (best === null || Math.abs(fmr - targetFmr) < Math.abs(best.fmr - targetFmr)) best = { threshold: t, fmr };
    return null;
  };
  // Candidates: the distinct values of both lists ascending (a merge), then +Infinity.
  let i = 0;
  let j = 0;
  let prev = NaN;
  while (i < mated.length || j < nNon) {
    const t = j >= nNon || (i < mated.length && (mated[i] as number) <= (nonMated[j] as number)) ? (mated[i++] as number) : (nonMated[j++] as number);
    if (t === prev) continue;
    prev = t;
    const found = consider(t);
    if (found) return found;
  }
  // 'at-most' always returns here at the latest (+Infinity has FMR 0); 'closest' always has set `best`.
  return consider(Infinity) ?? (best as unknown as FmrOperatingPoint);
}

/** The scores as a new ascending Float64Array. @throws DataError if a score is not finite */
function sortedFinite(scores: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = checkFinite(scores[i] as number);
  return out.sort();
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
