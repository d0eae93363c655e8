/**
 * Error-versus-Discard Characteristic (EDC) of a quality measure for one FR model on one dataset, METHOD.md §5.2.
 *
 * Conventions (all arithmetic in float64):
 * - Comparison score: cosine similarity of the two embeddings; a MATCH iff `score >= threshold` (see threshold.ts).
 * - Pair quality: min(q_a, q_b).
 * - Discard: the nominal discard fraction d is counted over MATED pairs (as fiqat does). At level d we need to
 *   discard at least k = ceil(d·nMated) mated pairs, lowest pair quality first. Ties are never split: the cut quality
 *   is qCut = the k-th lowest mated pair quality, and EVERY pair with quality <= qCut is discarded. So the actual
 *   discarded fraction `discardActual` may exceed the nominal one (with all qualities equal, any d > 0 discards
 *   everything). Each point reports both; the curve's x (plots, pAUC) is `discardActual`, while `discard` is the
 *   grid label written to edc.csv.
 * - Threshold, `thresholdMode`:
 *   - `fixed` (default; ISO/IEC 29794-1, fiqat): one threshold for `targetFmr` on ALL comparisons at d = 0, kept at
 *     every level. Non-mated pairs play no part after that.
 *   - `recompute` (CR-FIQA ERC): at every level the threshold is refitted on the remaining pairs. Non-mated pairs are
 *     discarded by the SAME quality cut as mated ones (a non-mated pair remains iff its pair quality > qCut). This
 *     departs from CR-FIQA, which discards a fraction of all pairs pooled; pooling would make the mated discard
 *     fraction depend on the mated/non-mated mix, while one quality cut models discarding samples.
 * - FNMR at a level = (# remaining mated pairs with score < threshold) / (# remaining mated pairs). If no mated pair
 *   remains (or, in recompute mode, no non-mated pair remains so no threshold exists) FNMR is NaN: the rate is
 *   undefined (0/0) and we refuse to invent a value. pAUC never integrates such a point unless it lies below the limit.
 */
import { cosineSimilarity as cosine } from '../util/vector.js';
import { ConfigError, DataError } from '../util/errors.js';
import { computeFnmr, selectFmrThreshold, selectFmrThresholdSorted, type ThresholdRule } from './threshold.js';

/** `fixed`: threshold set once at zero discard; `recompute`: refitted on the remaining pairs at every level. */
export type ThresholdMode = 'fixed' | 'recompute';

/** Scored comparisons with their pair qualities, index-aligned. */
export interface EdcInput {
  /** Similarity score of each comparison (higher = more similar). */
  scores: ArrayLike<number>;
  /** Whether each comparison is mated (same identity). */
  mated: ArrayLike<boolean>;
  /** Pair quality of each comparison (min of the two image qualities; higher = better). */
  pairQualities: ArrayLike<number>;
}

/** Options of {@link computeEdc}. */
export interface EdcOptions {
  /** Target FMR of the operating point, e.g. 1e-3. */
  targetFmr: number;
  /** Nominal discard fractions, strictly increasing, starting at 0, each < 1. Default {@link makeDiscardLevels}(). */
  discardLevels?: readonly number[];
  /** Default `fixed`. */
  thresholdMode?: ThresholdMode;
  /** Default: `at-most` for `fixed`, `closest` for `recompute` (CR-FIQA). */
  thresholdRule?: ThresholdRule;
}

/** One point of an EDC. */
export interface EdcPoint {
  /** Nominal discard fraction (the grid value). */
  discard: number;
  /** Fraction of mated pairs actually discarded (>= `discard` because ties are discarded whole). */
  discardActual: number;
  /** FNMR over the remaining mated pairs; NaN if undefined (see the file comment). */
  fnmr: number;
  /** Similarity threshold used at this level. */
  threshold: number;
  matedKept: number;
  /** Remaining non-mated pairs (all of them in `fixed` mode, where they are not discarded). */
  nonMatedKept: number;
}

/** An EDC and the facts needed to interpret it. */
export interface EdcCurve {
  points: EdcPoint[];
  thresholdMode: ThresholdMode;
  targetFmr: number;
  matedCount: number;
  nonMatedCount: number;
}

/** The grid 0, step, 2·step, … up to `max` inclusive (values rounded to 1e-12 so 0.15 prints as 0.15). */
export function makeDiscardLevels(max = 0.95, step = 0.05): number[] {
  if (!(step > 0) || !(max >= 0) || max >= 1) {
    throw new ConfigError('<options>', 'discard', `need step > 0 and 0 <= max < 1, got step ${step}, max ${max}`);
  }
  const levels: number[] = [];
  for (let i = 0; i * step <= max + 1e-9; i++) levels.push(Math.round(i * step * 1e12) / 1e12);
  return levels;
}

/** Cosine similarity of two embeddings, accumulated in float64. Throws on a length mismatch or a zero vector. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new DataError('<embeddings>', `length mismatch ${a.length} vs ${b.length}`);
  const c = cosine(a, b);
  if (Number.isNaN(c)) throw new DataError('<embeddings>', 'zero-norm embedding: cosine similarity undefined');
  return c;
}

/**
 * Computes the EDC of one quality measure (see the file comment for every convention).
 * @throws ConfigError on bad discard levels or FMR; DataError on misaligned inputs, non-finite qualities,
 *   or when there are no mated or no non-mated comparisons.
 * @example
 * // Mated scores 0.2 (quality 0.1) and 0.9 (quality 0.5); non-mated 0.3 and 0.0. FMR <= 0.25 needs t = 0.9,
 * // so FNMR(0) = 1/2; discarding half the mated pairs drops the 0.2 pair and the error with it.
 * computeEdc({ scores: [0.2, 0.9, 0.3, 0.0], mated: [true, true, false, false], pairQualities: [0.1, 0.5, 1, 1] },
 *   { targetFmr: 0.25, discardLevels: [0, 0.5] }).points.map((p) => p.fnmr); // [0.5, 0]
 */
export function computeEdc(input: EdcInput, options: EdcOptions): EdcCurve {
  const levels = options.discardLevels ?? makeDiscardLevels();
  checkLevels(levels);
  if (!(options.targetFmr > 0 && options.targetFmr < 1)) {
    throw new ConfigError('<options>', 'fmr', `expected 0 < fmr < 1, got ${options.targetFmr}`);
  }
  const mode = options.thresholdMode ?? 'fixed';
  const rule = options.thresholdRule ?? (mode === 'fixed' ? 'at-most' : 'closest');
  const { mated, nonMated } = splitSorted(input);
  if (mated.q.length === 0) throw new DataError('<comparisons>', 'no mated comparisons: FNMR undefined');
  if (nonMated.q.length === 0) throw new DataError('<comparisons>', 'no non-mated comparisons: FMR threshold undefined');
  const fixedThreshold = mode === 'fixed' ? selectFmrThreshold(mated.s, nonMated.s, options.targetFmr, rule).threshold : NaN;
  // For the refits, both groups again sorted by score: a level then only filters them (linear) instead of sorting.
  const matedByScore = mode === 'recompute' ? byScore(mated) : mated;
  const nonByScore = mode === 'recompute' ? byScore(nonMated) : nonMated;
  const nM = mated.q.length;
  const keptMatedScores = new Float64Array(nM);
  const keptNonScores = new Float64Array(nonMated.q.length);
  const points = levels.map((d): EdcPoint => {
    // Tiny slack so that 0.05·1000 = 50.000000000000004 still asks for 50 pairs.
    const k = Math.ceil(d * nM - 1e-9);
    const qCut = k === 0 ? -Infinity : (mated.q[k - 1] as number);
    const m0 = firstAbove(mated.q, qCut);
    const n0 = mode === 'recompute' ? firstAbove(nonMated.q, qCut) : 0;
    const keptMated = mated.s.subarray(m0);
    const threshold =
      mode === 'fixed'
        ? fixedThreshold
        : selectFmrThresholdSorted(keptAbove(matedByScore, qCut, keptMatedScores), keptAbove(nonByScore, qCut, keptNonScores), options.targetFmr, rule).threshold;
    return {
      discard: d,
      discardActual: m0 / nM,
      fnmr: computeFnmr(keptMated, threshold),
      threshold,
      matedKept: nM - m0,
      nonMatedKept: nonMated.q.length - n0,
    };
  });
  return { points, thresholdMode: mode, targetFmr: options.targetFmr, matedCount: nM, nonMatedCount: nonMated.q.length };
}

interface SortedGroup {
  /** Pair qualities (ascending, except in a `byScore` group). */
  q: Float64Array;
  /** Scores in the same order. */
  s: Float64Array;
}

/** Splits mated / non-mated comparisons, each sorted by pair quality ascending. */
function splitSorted(input: EdcInput): { mated: SortedGroup; nonMated: SortedGroup } {
  const n = input.scores.length;
  if (input.mated.length !== n || input.pairQualities.length !== n) {
    throw new DataError(
      '<comparisons>',
      `misaligned inputs: ${n} scores, ${input.mated.length} mated flags, ${input.pairQualities.length} qualities`,
    );
  }
  const groups: [number[], number[]] = [[], []];
  for (let i = 0; i < n; i++) {
    const q = input.pairQualities[i] as number;
    if (!Number.isFinite(q)) throw new DataError('<qualities>', `pair quality of comparison ${i} is ${q}`);
    groups[input.mated[i] ? 0 : 1].push(i);
  }
  const make = (idx: number[]): SortedGroup => {
    idx.sort((x, y) => (input.pairQualities[x] as number) - (input.pairQualities[y] as number));
    return {
      q: Float64Array.from(idx, (i) => input.pairQualities[i] as number),
      s: Float64Array.from(idx, (i) => input.scores[i] as number),
    };
  };
  return { mated: make(groups[0]), nonMated: make(groups[1]) };
}

/** A group re-sorted by score ascending (ties keep their quality order), its scores checked finite. */
function byScore(g: SortedGroup): SortedGroup {
  const order = Array.from(g.s.keys()).sort((x, y) => (g.s[x] as number) - (g.s[y] as number) || x - y);
  for (const v of g.s) if (!Number.isFinite(v)) throw new DataError('<comparison scores>', `similarity score ${v} is not finite`);
  return { q: Float64Array.from(order, (i) => g.q[i] as number), s: Float64Array.from(order, (i) => g.s[i] as number) };
}

/** The scores (ascending) of the group's pairs with quality > `cut`, written into `out`; returns the filled part. */
function keptAbove(g: SortedGroup, cut: number, out: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < g.s.length; i++) if ((g.q[i] as number) > cut) out[n++] = g.s[i] as number;
  return out.subarray(0, n);
}

/** Index of the first element of ascending `q` that is > `cut` (q.length if none). */
function firstAbove(q: Float64Array, cut: number): number {
  let lo = 0;
  let hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((q[mid] as number) > cut) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function checkLevels(levels: readonly number[]): void {
  const bad = (why: string): never => {
    throw new ConfigError('<options>', 'discardLevels', `${why}, got [${levels.join(', ')}]`);
  };
  if (levels.length === 0 || levels[0] !== 0) bad('must start at 0');
  for (let i = 0; i < levels.length; i++) {
    const d = levels[i] as number;
    if (!(d >= 0 && d < 1)) bad('each level must be in [0, 1)');
    if (i > 0 && !(d > (levels[i - 1] as number))) bad('levels must be strictly increasing');
  }
}
