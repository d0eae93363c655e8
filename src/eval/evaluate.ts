/**
 * Evaluation of quality measures for one FR model on one dataset: pair scores, pair qualities, EDC and pAUC per
 * method (METHOD.md §5). Pure: no FR model code; embeddings, when used, arrive as a map from image path.
 */
import { ConfigError, DataError } from '../util/errors.js';
import { drawClusterSamples, paucIntervals, type BootstrapOptions, type PaucInterval } from './bootstrap.js';
import { computeEdc, cosineSimilarity, makeDiscardLevels, type EdcCurve, type ThresholdMode } from './edc.js';
import { listPairImages, type Pair, type ScoredPair } from './inputs.js';
import { computePauc, normalisePauc } from './pauc.js';
import { matchQualities } from './qualities.js';
import type { ThresholdRule } from './threshold.js';

/** pAUC at one discard limit. */
export interface PaucValue {
  limit: number;
  pauc: number;
  /** pAUC / (FNMR(0)·limit); NaN when FNMR(0) = 0. */
  paucNorm: number;
  /** Bootstrap confidence interval of `paucNorm` (when the evaluation asked for one, bootstrap.ts). */
  ci?: PaucInterval;
}

/** The evaluation of one quality method for one (FR model, dataset). */
export interface EvalResult {
  method: string;
  fr: string;
  dataset: string;
  thresholdMode: ThresholdMode;
  fmr: number;
  fnmr0: number;
  curve: EdcCurve;
  paucs: PaucValue[];
}

/** Options of {@link evaluate}. Give `comparisons` (scores known) or `pairs` + `embeddings` (cosine scores). */
export interface EvaluateOptions {
  fr: string;
  dataset: string;
  comparisons?: readonly ScoredPair[];
  pairs?: readonly Pair[];
  /** Raw FR embedding per dataset-relative image path. */
  embeddings?: ReadonlyMap<string, Float32Array>;
  /** Quality per image path, per method name. Paths are matched as in qualities.ts. */
  qualities: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Where each method's qualities came from, named in errors (default `quality '<method>'`). */
  qualitySources?: ReadonlyMap<string, string>;
  /** Default 1e-3 (METHOD.md §5.1). */
  fmr?: number;
  /** Default 0, 0.05, …, 0.95. */
  discardLevels?: readonly number[];
  /** Default [0.2, 0.3]. */
  limits?: readonly number[];
  /** Default `fixed`. */
  thresholdMode?: ThresholdMode;
  thresholdRule?: ThresholdRule;
  /** Confidence intervals of the normalised pAUC by an identity bootstrap (bootstrap.ts); none when absent. */
  bootstrap?: BootstrapOptions;
}

/** Cosine score of every pair from the embeddings. @throws DataError naming the first image without an embedding */
export function scorePairs(pairs: readonly Pair[], embeddings: ReadonlyMap<string, Float32Array>): ScoredPair[] {
  return pairs.map((p) => {
    const ea = embeddings.get(p.a);
    const eb = embeddings.get(p.b);
    if (!ea || !eb) throw new DataError(ea ? p.b : p.a, 'no embedding for this pair image');
    return { ...p, score: cosineSimilarity(ea, eb) };
  });
}

/**
 * Computes EDC and pAUC for every quality method (see edc.ts and pauc.ts for the conventions).
 * @throws ConfigError if neither comparisons nor pairs+embeddings are given; DataError for missing qualities
 */
export function evaluate(options: EvaluateOptions): EvalResult[] {
  const comparisons = resolveComparisons(options);
  const fmr = options.fmr ?? 1e-3;
  const limits = options.limits ?? [0.2, 0.3];
  const discardLevels = options.discardLevels ?? makeDiscardLevels();
  const thresholdMode = options.thresholdMode ?? 'fixed';
  const images = listPairImages(comparisons);
  const scores = comparisons.map((c) => c.score);
  const mated = comparisons.map((c) => c.mated);
  const samples = options.bootstrap ? drawClusterSamples(comparisons, options.bootstrap) : [];
  const results: EvalResult[] = [];
  for (const [method, byPath] of options.qualities) {
    const source = options.qualitySources?.get(method) ?? `quality '${method}'`;
    const q = matchQualities(images, byPath, source);
    const pairQualities = comparisons.map((c) => Math.min(q.get(c.a) as number, q.get(c.b) as number));
    const edcOptions = { targetFmr: fmr, discardLevels, thresholdMode, ...(options.thresholdRule ? { thresholdRule: options.thresholdRule } : {}) };
    const curve = computeEdc({ scores, mated, pairQualities }, edcOptions);
    const fnmr0 = (curve.points[0] as { fnmr: number }).fnmr;
    const intervals = options.bootstrap ? paucIntervals(comparisons, pairQualities, samples, limits, edcOptions, options.bootstrap.confidence) : [];
    const paucs = limits.map((limit, l): PaucValue => {
      const pauc = computePauc(curve.points, limit);
      return { limit, pauc, paucNorm: normalisePauc(pauc, fnmr0, limit), ...(intervals[l] ? { ci: intervals[l] } : {}) };
    });
    results.push({ method, fr: options.fr, dataset: options.dataset, thresholdMode, fmr, fnmr0, curve, paucs });
  }
  return results;
}

function resolveComparisons(options: EvaluateOptions): readonly ScoredPair[] {
  if (options.comparisons) return options.comparisons;
  if (options.pairs && options.embeddings) return scorePairs(options.pairs, options.embeddings);
  throw new ConfigError('<evaluate>', 'comparisons', 'give comparisons with scores, or pairs and embeddings');
}
