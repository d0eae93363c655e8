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
import { selectFmrThresholdWeighted, type ThresholdRule } from './threshold.js';

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
  return prepareEdc(input, options).curve();
}

/** One input prepared for many EDCs over multiplicities of its comparisons ({@link prepareEdc}). */
export interface PreparedEdc {
  /**
   * The EDC of the input with comparison i counted `weights[i]` times (0: left out), equal to computeEdc on the
   * input with every comparison repeated that often; without weights, of the input itself.
   * @throws DataError when the weighted input has no mated or no non-mated comparison
   */
  curve(weights?: ArrayLike<number>): EdcCurve;
}

/**
 * Sorts and checks the input once, for {@link computeEdc} and for a bootstrap's thousands of resamples, which only
 * change how often each comparison counts (bootstrap.ts): every EDC after that is linear in the input size.
 * @throws ConfigError on bad discard levels or FMR; DataError on misaligned inputs or non-finite qualities or scores
 */
export function prepareEdc(input: EdcInput, options: EdcOptions): PreparedEdc {
  const levels = options.discardLevels ?? makeDiscardLevels();
  checkLevels(levels);
  if (!(options.targetFmr > 0 && options.targetFmr < 1)) {
    throw new ConfigError('<options>', 'fmr', `expected 0 < fmr < 1, got ${options.targetFmr}`);
  }
  const mode = options.thresholdMode ?? 'fixed';
  const rule = options.thresholdRule ?? (mode === 'fixed' ? 'at-most' : 'closest');
  const { mated, nonMated } = splitSorted(input);
  // Both groups again in score order, for the thresholds: a level then filters them (linear) instead of sorting.
  const matedByScore = byScore(mated);
  const nonByScore = byScore(nonMated);
  const matedW = new Float64Array(mated.q.length);
  const nonW = new Float64Array(nonMated.q.length);
  return {
    curve: (weights) => {
      // Each group's weights in its own order, resolved once per curve.
      const weightsOf = (g: SortedGroup): Float64Array => {
        const w = new Float64Array(g.idx.length);
        for (let j = 0; j < w.length; j++) w[j] = weights ? (weights[g.idx[j] as number] as number) : 1;
        return w;
      };
      const [wM, wN, wMs, wNs] = [weightsOf(mated), weightsOf(nonMated), weightsOf(matedByScore), weightsOf(nonByScore)];
      const nM = sum(wM);
      const nNon = sum(wN);
      if (nM === 0) throw new DataError('<comparisons>', 'no mated comparisons: FNMR undefined');
      if (nNon === 0) throw new DataError('<comparisons>', 'no non-mated comparisons: FMR threshold undefined');
      /** The threshold fitted on the pairs with quality above `cut`: their weights in score order, 0 for the rest. */
      const threshold = (cut: number): number =>
        selectFmrThresholdWeighted(matedByScore.s, keptWeights(matedByScore, wMs, cut, matedW), nonByScore.s, keptWeights(nonByScore, wNs, cut, nonW), options.targetFmr, rule).threshold;
      const fixedThreshold = mode === 'fixed' ? threshold(-Infinity) : NaN;
      // The levels discard ever more: one forward walk over the quality-sorted pairs serves them all.
      let kth = 0; // pairs before it (in quality order) hold the k lowest (weighted)
      let below = 0; // their weight
      let cut = 0; // mated pairs before it have quality <= qCut
      let discarded = 0;
      let discardedErrors = 0; // of the fixed threshold
      let nonCut = 0;
      let nonDiscarded = 0;
      let errors = 0;
      if (mode === 'fixed') for (let j = 0; j < wM.length; j++) if ((mated.s[j] as number) < fixedThreshold) errors += wM[j] as number;
      const points = levels.map((d): EdcPoint => {
        // Tiny slack so that 0.05·1000 = 50.000000000000004 still asks for 50 pairs.
        const k = Math.ceil(d * nM - 1e-9);
        while (below < k) below += wM[kth++] as number;
        const qCut = k === 0 ? -Infinity : (mated.q[kth - 1] as number);
        for (; cut < wM.length && (mated.q[cut] as number) <= qCut; cut++) {
          discarded += wM[cut] as number;
          if (mode === 'fixed' && (mated.s[cut] as number) < fixedThreshold) discardedErrors += wM[cut] as number;
        }
        if (mode === 'recompute') for (; nonCut < wN.length && (nonMated.q[nonCut] as number) <= qCut; nonCut++) nonDiscarded += wN[nonCut] as number;
        const t = mode === 'fixed' ? fixedThreshold : threshold(qCut);
        const kept = nM - discarded;
        let keptErrors = errors - discardedErrors;
        if (mode === 'recompute') {
          keptErrors = 0;
          for (let j = cut; j < wM.length; j++) if ((mated.s[j] as number) < t) keptErrors += wM[j] as number;
        }
        return {
          discard: d,
          discardActual: discarded / nM,
          fnmr: kept === 0 || Number.isNaN(t) ? NaN : keptErrors / kept,
          threshold: t,
          matedKept: kept,
          nonMatedKept: nNon - nonDiscarded,
        };
      });
      return { points, thresholdMode: mode, targetFmr: options.targetFmr, matedCount: nM, nonMatedCount: nNon };
    },
  };
}

function sum(v: Float64Array): number {
  let n = 0;
  for (let j = 0; j < v.length; j++) n += v[j] as number;
  return n;
}

/** `w` (a group's weights in its order) with 0 for the pairs of quality <= cut, written into `out`. */
function keptWeights(g: SortedGroup, w: Float64Array, cut: number, out: Float64Array): Float64Array {
  for (let j = 0; j < w.length; j++) out[j] = (g.q[j] as number) > cut ? (w[j] as number) : 0;
  return out;
}

interface SortedGroup {
  /** Pair qualities (ascending, except in a `byScore` group). */
  q: Float64Array;
  /** Scores in the same order. */
  s: Float64Array;
  /** The index of each pair in the input, for its weight. */
  idx: Int32Array;
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
      idx: Int32Array.from(idx),
    };
  };
  return { mated: make(groups[0]), nonMated: make(groups[1]) };
}

/** A group re-sorted by score ascending (ties keep their quality order), its scores checked finite. */
function byScore(g: SortedGroup): SortedGroup {
  const order = Array.from(g.s.keys()).sort((x, y) => (g.s[x] as number) - (g.s[y] as number) || x - y);
  for (const v of g.s) if (!Number.isFinite(v)) throw new DataError('<comparison scores>', `similarity score ${v} is not finite`);
  return { q: Float64Array.from(order, (i) => g.q[i] as number), s: Float64Array.from(order, (i) => g.s[i] as number), idx: Int32Array.from(order, (i) => g.idx[i] as number) };
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
