/** Public API of the evaluation module (METHOD.md §5): EDC, pAUC, protocol inputs, baselines, reports. */
export { computeEdc, cosineSimilarity, makeDiscardLevels } from './edc.js';
export type { EdcCurve, EdcInput, EdcOptions, EdcPoint, ThresholdMode } from './edc.js';
export { computeFnmr, selectFmrThreshold } from './threshold.js';
export type { FmrOperatingPoint, ThresholdRule } from './threshold.js';
export { computePauc, normalisePauc } from './pauc.js';
export {
  filterFolds,
  lfwImagePath,
  listPairImages,
  loadCfpPairs,
  loadComparisonCsv,
  loadLfwPairs,
  normaliseRelPath,
  parseComparisonCsv,
  parseLfwPairs,
} from './inputs.js';
export type { Pair, ScoredPair } from './inputs.js';
export { loadQualityFile, matchQualities } from './qualities.js';
export {
  BASELINE_NAMES,
  computeEmbeddingNorm,
  computeEmbeddingNormQualities,
  computeLaplacianVariance,
  computeRandomQualities,
} from './baselines.js';
export type { BaselineName } from './baselines.js';
export { evaluate, scorePairs } from './evaluate.js';
export type { EvalResult, EvaluateOptions, PaucValue } from './evaluate.js';
export { getEmbeddingCachePath, loadEmbeddingCache, saveEmbeddingCache } from './embedding-cache.js';
export { computeBaselines, computeSharpness, getEmbeddings } from './prepare.js';
export type { BaselineInputs, EmbedImagesFn, ResolveImage } from './prepare.js';
export { buildEdcCsv, buildPaucMarkdown, buildPaucTables, buildSummary, writeEvalOutputs } from './report.js';
export type { EvalOutputFiles, PaucTable, SummaryRecord } from './report.js';
export { renderEdcSvg } from './plot.js';
