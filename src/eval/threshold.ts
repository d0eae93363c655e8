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
  return selectFmrThresholdWeighted(sortedFinite(matedScores), null, sortedFinite(nonMatedScores), null, targetFmr, rule);
}

/**
 * {@link selectFmrThreshold} on scores that are already finite and sorted ascending, where score i counts
 * `weight[i]` times (a weight of 0: absent; null: all 1), as
 * if the lists held each score that many times: the same candidates and the same FMRs as the repeated lists, so a
 * bootstrap sample can be evaluated from its multiplicities without being built (bootstrap.ts).
 */
export function selectFmrThresholdWeighted(
  mated: ArrayLike<number>,
  matedWeight: ArrayLike<number> | null,
  nonMated: ArrayLike<number>,
  nonWeight: ArrayLike<number> | null,
  targetFmr: number,
  rule: ThresholdRule,
): FmrOperatingPoint {
  let nNon = 0;
  for (let j = 0; j < nonMated.length; j++) nNon += nonWeight ? (nonWeight[j] as number) : 1;
  if (nNon === 0) return { threshold: NaN, fmr: NaN };
  // FMR(t) falls as t rises, so the candidates form blocks of equal FMR, and both rules pick the lowest candidate of
  // a block: `at-most` of the highest-FMR block at or under the target (B), `closest` of B or of the block just over
  // the target (A), A on a tie (it is lower). Walking down from +Infinity, both are found within a few blocks of the
  // top, where a target FMR such as 1e-3 lies, instead of after every candidate.
  let ge = 0; // weight of the non-mated scores >= the current candidate
  let i = mated.length - 1;
  let j = nonMated.length - 1;
  let block = { fmr: 0, lowest: Infinity };
  let under: { fmr: number; lowest: number } | null = null; // B
  let over: { fmr: number; lowest: number } | null = null; // A
  let prev = Infinity;
  for (;;) {
    // The next present candidate below `prev` (distinct values), or none.
    let t = NaN;
    while (i >= 0 || j >= 0) {
      const fromMated = j < 0 || (i >= 0 && (mated[i] as number) >= (nonMated[j] as number));
      const present = fromMated ? (matedWeight ? (matedWeight[i] as number) > 0 : true) : nonWeight ? (nonWeight[j] as number) > 0 : true;
      const v = fromMated ? (mated[i] as number) : (nonMated[j] as number);
      if (fromMated) i--;
      else {
        ge += nonWeight ? (nonWeight[j] as number) : 1;
        j--;
      }
      if (present && v !== prev) {
        t = v;
        break;
      }
    }
    if (Number.isNaN(t)) break;
    // Non-mated scores equal to t count for it too.
    for (; j >= 0 && (nonMated[j] as number) >= t; j--) ge += nonWeight ? (nonWeight[j] as number) : 1;
    prev = t;
    const fmr = ge / nNon;
    if (fmr === block.fmr) {
      block.lowest = t;
      continue;
    }
    // A new block: the previous one is complete.
    if (block.fmr <= targetFmr) under = block;
    else if (over === null) over = block;
    if (over !== null) break;
    block = { fmr, lowest: t };
  }
  if (over === null) {
    if (block.fmr <= targetFmr) under = block;
    else over = block;
  }
  const b = under as { fmr: number; lowest: number };
  if (rule === 'at-most' || over === null || Math.abs(b.fmr - targetFmr) < Math.abs(over.fmr - targetFmr)) return { threshold: b.lowest, fmr: b.fmr };
  return { threshold: over.lowest, fmr: over.fmr };
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
