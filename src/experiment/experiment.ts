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
import { createSchedule } from '../diffusion/schedule.js';
import { frWeightsOptions, loadFrModel } from '../fr/registry.js';
import { LABEL_COLUMNS } from '../pipelines/label.js';
import { runLabeller } from '../pipelines/label-run.js';
import { formatResultsCsv, readResults } from '../pipelines/records.js';
import { scoreFiles } from '../pipelines/score.js';
import { loadRegressorConfig } from '../regressor/config.js';
import { trainDiffusion } from '../train/train-diffusion.js';
import { trainRegressor } from '../train/train-regressor.js';
import { writeFileAtomic } from '../util/atomic.js';
import { deepMerge, parseOverrides } from '../util/schema.js';
import { loadExperimentConfig, type ExperimentConfig } from './config.js';
import { buildProtocol, getSet, writeDegradedCopies, writePairLists, type ExperimentProtocol } from './protocol.js';
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

/** The diffusion config an experiment trains. */
function diffusionConfigOf(cfg: ExperimentConfig, file: string): DiffusionConfig {
  const overrides = deepMerge(parseOverrides(cfg.diffusion.set, `${file}: diffusion.set`), { data: { folder: cfg.diffusion.data } });
  return loadDiffusionConfig(cfg.diffusion.config, overrides);
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
  log(`experiment: ${counts}; ${protocol.lfwTrainImages.length} LFW training images; output ${cfg.out}`);

  await stages.run('diffusion', diffusionConfig, () =>
    trainDiffusion(diffusionConfig, { runDir: paths.diffusion, resume: fs.existsSync(path.join(paths.diffusion, 'latest.json')), quiet: opts.quiet, signal: opts.signal }),
  );
  await stages.run('cross-quality', { seed: cfg.seed, degraded: protocol.degraded }, () => writeDegradedCopies(cfg, protocol));
  const labelSettings = { diffusion: diffusionConfig, ema: cfg.diffusion.ema, label: cfg.label, seed: cfg.seed, protocol: cfg.protocol, data: cfg.data };
  await stages.run('label', labelSettings, () => labelStage(cfg, diffusionConfig, protocol, paths, opts.quiet));
  for (const reg of cfg.regressors) {
    const regConfig = loadRegressorConfig(reg.config, parseOverrides(reg.set, `${opts.configFile}: regressors.${reg.name}.set`));
    await stages.run(`distil ${reg.name}`, { labels: labelSettings, config: regConfig }, async () => {
      writeTrainingLabels(paths.labels.lfw, protocol.lfwTrainImages, paths.labels.lfwTrain);
      const runDir = paths.regressor(reg.name);
      return trainRegressor({ config: regConfig, configFile: reg.config, labels: paths.labels.lfwTrain, data: cfg.data.lfw, runDir, resume: fs.existsSync(path.join(runDir, 'latest.json')), quiet: opts.quiet, signal: opts.signal });
    });
    await stages.run(`score ${reg.name}`, { labels: labelSettings, config: regConfig }, () =>
      scoreFiles(evaluationFiles(protocol), { model: regressorModel(paths.regressor(reg.name)), out: paths.scores(reg.name), quiet: opts.quiet }),
    );
  }
  const evaluation = await evaluateExperiment({ cfg, configFile: opts.configFile, protocol, paths, stages: stages.finished, backend: describeBackend(), log });
  log(`experiment: report ${path.join(paths.report, 'report.html')}`);
  return evaluation;
}

/** Labels every image the later stages need, one result file per image root. */
async function labelStage(cfg: ExperimentConfig, dcfg: DiffusionConfig, protocol: ExperimentProtocol, paths: ExperimentPaths, quiet?: boolean): Promise<void> {
  const diffusion = loadDiffusion(paths.diffusion, { ema: cfg.diffusion.ema });
  const fr = await loadFrModel(cfg.label.fr, frWeightsOptions(cfg.label.frWeights, cfg.label.frWeightsPrefix));
  const schedule = createSchedule(dcfg.diffusion.schedule, dcfg.diffusion.timesteps);
  const jobs = [
    { out: paths.labels.lfw, data: cfg.data.lfw, keys: [...new Set([...protocol.lfwTrainImages, ...getSet(protocol, 'lfw').images])] },
    { out: paths.labels.xq, data: cfg.out, keys: protocol.degraded.map((d) => d.key) },
    { out: paths.labels.cfp, data: cfg.data.cfp, keys: getSet(protocol, 'cfp-fp').images },
  ];
  try {
    for (const job of jobs) {
      await runLabeller(diffusion, schedule, fr, {
        data: job.data,
        files: job.keys.map((k) => path.join(job.data, k)),
        out: job.out,
        tStar: cfg.label.tStar,
        repeats: cfg.label.repeats,
        seed: cfg.seed,
        batchSize: cfg.label.batchSize,
        imageSize: dcfg.unet.imageSize,
        quiet,
      });
    }
  } finally {
    diffusion.dispose();
    fr.dispose();
  }
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
