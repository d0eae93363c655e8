/**
 * `diffiqa experiment CONFIG`: the paper's pipeline end to end (METHOD §2-§5) as cached, resumable stages:
 *
 *   diffusion      train the diffusion model (resumes from the run folder's checkpoints)
 *   cross-quality  write the degraded copies of the cross-quality LFW set
 *   label          DifFIQA labels of the LFW training and test images, the degraded copies and the CFP images
 *   distil <name>  train each regressor on the labels of the LFW training folds
 *   score <name>   score every evaluation image with each regressor
 *   evaluate       EDC and pAUC per (set, FR model, method), rank correlations, the report folder
 *
 * Every stage continues from its partial outputs after a kill (see stages.ts); the report folder holds the
 * tables, plots, the exact config, software versions and the wall time of each stage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend } from '../backend/index.js';
import { loadDiffusionConfig, type DiffusionConfig } from '../diffusion/config.js';
import { loadDiffusion } from '../diffusion/load.js';
import { cosineSchedule, createSchedule } from '../diffusion/schedule.js';
import { serFiqQualities } from '../fr/ser-fiq.js';
import { SHIPPED_MODELS, sha256File, shippedModelPath, type ShippedModel } from '../models/shipped.js';
import { frWeightsOptions, loadFrModel } from '../fr/registry.js';
import { LABEL_COLUMNS } from '../pipelines/label.js';
import { runLabeller } from '../pipelines/label-run.js';
import { formatResultsCsv, readResults } from '../pipelines/records.js';
import { scoreFiles } from '../pipelines/score.js';
import { loadRegressorConfig } from '../regressor/config.js';
import { trainDiffusion } from '../train/train-diffusion.js';
import { trainRegressor } from '../train/train-regressor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { formatCsv } from '../util/csv.js';
import { ConfigError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { deepMerge, parseOverrides } from '../util/schema.js';
import { SER_FIQ_METHOD, loadExperimentConfig, type ExperimentConfig } from './config.js';
import { XQ_PREFIX, buildProtocol, cfpResolver, findSet, writeDegradedCopies, writePairLists, type ExperimentProtocol } from './protocol.js';
import { evaluateExperiment, type ExperimentEvaluation } from './results.js';
import { StageLog } from './stages.js';

/** Options of {@link runExperiment}. */
export interface ExperimentOptions {
  /** The config file (copied into the report). */
  configFile: string;
  /** Overrides of the config (`--set`). */
  overrides?: unknown;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Aborting it stops a training stage after its current step, with a checkpoint; a rerun continues there. */
  signal?: AbortSignal;
}

/** Where a run keeps each stage's outputs. */
export interface ExperimentPaths {
  out: string;
  diffusion: string;
  protocol: string;
  labels: { lfw: string; xq: string; cfp: string; lfwTrain: string };
  regressor: (name: string) => string;
  scores: (name: string) => string;
  embeddings: string;
  report: string;
  stages: string;
}

/** The output layout of an experiment folder. */
export function experimentPaths(out: string): ExperimentPaths {
  return {
    out,
    diffusion: path.join(out, 'diffusion'),
    protocol: path.join(out, 'protocol'),
    labels: {
      lfw: path.join(out, 'labels', 'lfw.csv'),
      xq: path.join(out, 'labels', 'xq-lfw.csv'),
      cfp: path.join(out, 'labels', 'cfp.csv'),
      lfwTrain: path.join(out, 'labels', 'lfw-train.csv'),
    },
    regressor: (name) => path.join(out, 'regressors', name),
    scores: (name) => path.join(out, 'scores', `${name}.csv`),
    embeddings: path.join(out, 'embeddings'),
    report: path.join(out, 'report'),
    stages: path.join(out, 'stages.json'),
  };
}

/** The diffusion config an experiment trains (none when it labels with a trained `diffusion.model`). */
function diffusionConfigOf(cfg: ExperimentConfig, file: string): DiffusionConfig | null {
  if (cfg.diffusion.model !== null) return null;
  const overrides = deepMerge(parseOverrides(cfg.diffusion.set, `${file}: diffusion.set`), { data: { folder: cfg.diffusion.data } });
  return loadDiffusionConfig(cfg.diffusion.config as string, overrides);
}

/** A trained model named in a config: `shipped` / `shipped:<name>` (verified by checksum) or a path. */
export function resolveModelSpec(spec: string, shippedDefault: ShippedModel): string {
  if (spec === 'shipped') return shippedModelPath(shippedDefault);
  const m = /^shipped:(.+)$/.exec(spec);
  if (!m) return spec;
  const name = m[1] as string;
  if (!(SHIPPED_MODELS as readonly string[]).includes(name)) throw new ConfigError('<experiment>', spec, `no shipped model '${name}'; expected one of ${SHIPPED_MODELS.join(', ')}`);
  return shippedModelPath(name as ShippedModel);
}

/** Runs (or resumes) the experiment described by `opts.configFile`; returns its evaluation. */
export async function runExperiment(opts: ExperimentOptions): Promise<ExperimentEvaluation> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cfg = loadExperimentConfig(opts.configFile, opts.overrides ?? {});
  const paths = experimentPaths(cfg.out);
  const stages = new StageLog(paths.stages, log);
  const diffusionConfig = diffusionConfigOf(cfg, opts.configFile);
  const protocol = buildProtocol(cfg);
  writePairLists(protocol, paths.protocol);
  const counts = protocol.sets.map((s) => `${s.name} ${s.pairs.length} pairs / ${s.images.length} images`).join(', ');
  const distilled = cfg.regressors.filter((r) => r.config !== undefined);
  log(`experiment: ${counts}${distilled.length > 0 ? `; ${protocol.lfwTrainImages.length} LFW training images` : ''}; output ${cfg.out}`);

  if (diffusionConfig) {
    await stages.run('diffusion', diffusionConfig, () =>
      trainDiffusion(diffusionConfig, { runDir: paths.diffusion, resume: fs.existsSync(path.join(paths.diffusion, 'latest.json')), quiet: opts.quiet, signal: opts.signal }),
    );
  }
  if (protocol.degraded.length > 0) {
    await stages.run('cross-quality', { seed: cfg.seed, degraded: protocol.degraded }, () => writeDegradedCopies(cfg, protocol));
  }
  const diffusionFile = diffusionConfig ? paths.diffusion : resolveModelSpec(cfg.diffusion.model as string, 'diffusion');
  const diffusionId = diffusionConfig ?? { model: cfg.diffusion.model, sha256: sha256File(diffusionFile) };
  const labelSettings = { diffusion: diffusionId, ema: cfg.diffusion.ema, label: cfg.label, seed: cfg.seed, protocol: cfg.protocol, data: cfg.data };
  const jobs = labelJobs(cfg, protocol, paths, distilled.length > 0);
  await stages.run('label', labelSettings, () => labelStage(cfg, diffusionFile, diffusionConfig, jobs, opts.quiet));
  for (const reg of cfg.regressors) {
    let model: string;
    let settings: unknown;
    if (reg.config !== undefined) {
      const regConfig = loadRegressorConfig(reg.config, parseOverrides(reg.set, `${opts.configFile}: regressors.${reg.name}.set`));
      settings = { labels: labelSettings, config: regConfig };
      await stages.run(`distil ${reg.name}`, settings, async () => {
        writeTrainingLabels(paths.labels.lfw, protocol.lfwTrainImages, paths.labels.lfwTrain);
        const runDir = paths.regressor(reg.name);
        return trainRegressor({ config: regConfig, configFile: reg.config as string, labels: paths.labels.lfwTrain, data: cfg.data.lfw, runDir, resume: fs.existsSync(path.join(runDir, 'latest.json')), quiet: opts.quiet, signal: opts.signal });
      });
      model = regressorModel(paths.regressor(reg.name));
    } else {
      model = resolveModelSpec(reg.model as string, 'ediffiqa');
      settings = { model: reg.model, sha256: sha256File(model) };
    }
    await stages.run(`score ${reg.name}`, { settings, sets: cfg.protocol }, () => scoreFiles(evaluationFiles(protocol), { model, out: paths.scores(reg.name), quiet: opts.quiet }));
  }
  const serFiq = cfg.eval.serFiq;
  if (serFiq) {
    await stages.run(`score ${SER_FIQ_METHOD}`, { serFiq, seed: cfg.seed, sets: cfg.protocol, data: cfg.data }, () => serFiqStage(cfg, protocol, paths, serFiq, opts.quiet));
  }
  const evaluation = await evaluateExperiment({ cfg, configFile: opts.configFile, protocol, paths, labelJobs: jobs, stages: stages.finished, backend: describeBackend(), log });
  log(`experiment: report ${path.join(paths.report, 'report.html')}`);
  return evaluation;
}

/** One labeller run: the images of one root, written to one result file (paths relative to `data`). */
export interface LabelJob {
  out: string;
  data: string;
  /** Evaluation keys and the files they resolve to. */
  keys: string[];
  resolve: (key: string) => string;
}

/** The label files of an experiment: LFW (training images when a regressor distils, and the test images), the cross-quality copies, CFP. */
export function labelJobs(cfg: ExperimentConfig, protocol: ExperimentProtocol, paths: ExperimentPaths, withTraining: boolean): LabelJob[] {
  const lfwTest = [findSet(protocol, 'lfw'), findSet(protocol, 'xq-lfw')].flatMap((s) => s?.images ?? []).filter((k) => !k.startsWith(XQ_PREFIX));
  const cfp = [findSet(protocol, 'cfp-fp'), findSet(protocol, 'cfp-ff')].flatMap((s) => s?.images ?? []);
  const cfpRoot = cfg.data.cfpAligned ?? cfg.data.cfp;
  const jobs: LabelJob[] = [
    { out: paths.labels.lfw, data: cfg.data.lfw, keys: [...new Set([...(withTraining ? protocol.lfwTrainImages : []), ...lfwTest])], resolve: (k) => path.join(cfg.data.lfw, k) },
    { out: paths.labels.xq, data: cfg.out, keys: protocol.degraded.map((d) => d.key), resolve: (k) => path.join(cfg.out, k) },
    { out: paths.labels.cfp, data: cfpRoot, keys: [...new Set(cfp)], resolve: cfpResolver(cfg) },
  ];
  return jobs.filter((j) => j.keys.length > 0);
}

/** Labels every image the later stages need, one result file per image root. */
async function labelStage(cfg: ExperimentConfig, diffusionFile: string, dcfg: DiffusionConfig | null, jobs: readonly LabelJob[], quiet?: boolean): Promise<void> {
  const diffusion = loadDiffusion(diffusionFile, { ema: dcfg !== null && cfg.diffusion.ema });
  const fr = await loadFrModel(cfg.label.fr, frWeightsOptions(cfg.label.frWeights, cfg.label.frWeightsPrefix));
  const schedule = dcfg ? createSchedule(dcfg.diffusion.schedule, dcfg.diffusion.timesteps) : cosineSchedule(1000);
  try {
    for (const job of jobs) {
      await runLabeller(diffusion, schedule, fr, {
        data: job.data,
        files: job.keys.map(job.resolve),
        out: job.out,
        tStar: cfg.label.tStar,
        repeats: cfg.label.repeats,
        seed: cfg.seed,
        batchSize: cfg.label.batchSize,
        imageSize: diffusion.unet.config.imageSize,
        quiet,
      });
    }
  } finally {
    diffusion.dispose();
    fr.dispose();
  }
}

/** SER-FIQ of every evaluation image, written as `<scores>/SER-FIQ.csv` (path = evaluation key, quality). */
async function serFiqStage(cfg: ExperimentConfig, protocol: ExperimentProtocol, paths: ExperimentPaths, opts: { passes: number; dropout: number }, quiet?: boolean): Promise<void> {
  const resolveOf = new Map(protocol.sets.flatMap((s) => s.images.map((k) => [k, s.resolve] as const)));
  const keys = [...resolveOf.keys()];
  const bar = quiet ? null : new Progress('SER-FIQ', keys.length, { unit: 'img' });
  const q = await serFiqQualities(keys, (k) => (resolveOf.get(k) as (k: string) => string)(k), { ...opts, seed: cfg.seed, onProgress: (done) => bar?.update(done) });
  bar?.done();
  writeFileAtomic(paths.scores(SER_FIQ_METHOD), formatCsv(['path', 'quality'], keys.map((k) => [k, q.get(k) as number])));
}

/** Writes the labels of the training images only (atomically: a rerun rewrites the same file). */
export function writeTrainingLabels(labelsFile: string, keys: readonly string[], out: string): number {
  const wanted = new Set(keys);
  const rows = readResults(labelsFile).filter((r) => wanted.has(r.path));
  writeFileAtomic(out, formatResultsCsv(LABEL_COLUMNS, rows));
  return rows.length;
}

/** Every distinct image file of the evaluation sets. */
export function evaluationFiles(protocol: ExperimentProtocol): string[] {
  return [...new Set(protocol.sets.flatMap((s) => s.images.map(s.resolve)))];
}

/** The best-validation weights of a regressor run when it has them, else its latest checkpoint. */
function regressorModel(runDir: string): string {
  const best = path.join(runDir, 'best.safetensors');
  return fs.existsSync(best) ? best : runDir;
}
