/**
 * Trains the extended-DDPM diffusion model from a validated config: lists the data, holds out a few images for
 * the restoration grids and the restoration MSE, builds the UNet and the prefetching HQ/LQ dataset, and runs the
 * generic trainer (checkpoints, resume, EMA, metrics, progress) in `runDir`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { PairDataset, type PairBatch } from '../data/dataset.js';
import { WorkerPairLoader } from '../data/worker-loader.js';
import { listImageFiles } from '../data/files.js';
import { unetConfigOf, type DiffusionConfig } from '../diffusion/config.js';
import { createSchedule } from '../diffusion/schedule.js';
import { loadDiffusion } from '../diffusion/load.js';
import { createUnet, type Unet } from '../diffusion/unet.js';
import { latestCheckpoint } from '../io/checkpoint.js';
import { appendLinesDurable } from '../util/atomic.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { createDiffusionTask } from './diffusion-task.js';
import { train } from './trainer.js';

/** Run settings beyond the config. */
export interface TrainDiffusionOptions {
  runDir: string;
  resume?: boolean;
  resumeFrom?: string;
  /**
   * A fresh run (no checkpoint to resume) starts from these UNet weights instead of a random initialisation: any
   * file or folder `loadDiffusion` reads (a shipped safetensors, a ckpt-* folder, a reference .pt). The optimiser,
   * EMA and data stream start fresh; resuming the run later continues from its own checkpoints, not from this.
   */
  initFrom?: string;
  quiet?: boolean;
  /**
   * Worker threads that build training pairs; default {@link defaultLoaderWorkers}. Not part of the config: it
   * changes speed, never results (every sample is seeded by its own index).
   */
  workers?: number;
  /** Called after every step (tests, fault injection). */
  onStep?(step: number, loss: number): void;
  /** Aborting it stops after the current step with a checkpoint (the trainer's `signal`). */
  signal?: AbortSignal;
}

/** What a finished run reports. */
export interface TrainDiffusionResult {
  step: number;
  trainImages: number;
  heldOut: string[];
  /** Restoration MSE of the held-out images by the final EMA (or raw) weights, and before training. */
  restoreMse?: { before: number; after: number };
}

/** Splits files into a held-out monitor set and the training set, by a seeded shuffle (stable across resumes). */
export function splitHeldOut(files: readonly string[], count: number, seed: number): { heldOut: string[]; train: string[] } {
  const n = Math.min(count, Math.floor(files.length / 10));
  const order = new Rng(deriveSeed(seed, 'held-out')).shuffle(files.map((_, i) => i));
  const held = new Set(order.slice(0, n));
  return { heldOut: files.filter((_, i) => held.has(i)), train: files.filter((_, i) => !held.has(i)) };
}

/**
 * One pair-building worker per core the training step leaves free, at least one and at most 8: a BSRGAN sample
 * costs ~0.1-0.3 s of one core (it degrades at 512x512), so a GPU step of 64 images needs several workers, while on
 * two cores the step's own threads already use the machine.
 */
export function defaultLoaderWorkers(cores = os.availableParallelism()): number {
  return Math.min(8, Math.max(1, cores - 1));
}

/** Copies the UNet weights of `source` into `unet`; their configs must match (the loader names the first misfit). */
function initialiseFrom(unet: Unet, source: string): void {
  const init = loadDiffusion(source);
  try {
    unet.params.loadTorchStateDict(init.unet.params.toTorchStateDict(), source);
  } finally {
    init.dispose();
  }
}

/** Trains (or resumes) the diffusion model described by `config`. */
export async function trainDiffusion(config: Readonly<DiffusionConfig>, opts: TrainDiffusionOptions): Promise<TrainDiffusionResult> {
  const t = config.train;
  const size = config.unet.imageSize;
  const skipLog = path.join(opts.runDir, 'skipped.jsonl');
  const files = listImageFiles(config.data.folder, {
    onSkip: (s) => appendLinesDurable(skipLog, [JSON.stringify({ ...s, stage: 'listing' })]),
  });
  const { heldOut, train: trainFiles } = splitHeldOut(files, t.sampleCount, t.seed);
  const common = { width: size, height: size, skipLogPath: skipLog, flipProb: config.data.flip };
  // Degradation maths runs in worker threads so it overlaps the training step instead of alternating with it.
  const loader = new WorkerPairLoader(opts.workers ?? defaultLoaderWorkers());
  const dataset = new PairDataset({
    ...common,
    files: trainFiles,
    seed: t.seed,
    batchSize: t.batchSize,
    prefetchBatches: config.data.prefetch,
    loadPair: loader.load,
  });
  let monitor: PairBatch | undefined;
  if (heldOut.length > 0) {
    const monitorSet = new PairDataset({ ...common, files: heldOut, seed: `${t.seed}:monitor`, batchSize: heldOut.length, flipProb: 0 });
    monitor = await monitorSet.nextBatch();
    monitorSet.dispose();
  }
  const unet = createUnet(unetConfigOf(config), new Rng(t.seed));
  const resuming = opts.resumeFrom !== undefined || (opts.resume === true && latestCheckpoint(opts.runDir) !== null);
  if (opts.initFrom && !resuming) initialiseFrom(unet, opts.initFrom);
  const process = {
    schedule: createSchedule(config.diffusion.schedule, config.diffusion.timesteps),
    timeBound: config.diffusion.timeBound as [number, number],
    T: config.diffusion.T,
  };
  const task = createDiffusionTask(unet, dataset, { lr: t.lr, process, runDir: opts.runDir, monitor });
  try {
    const before = monitor && !opts.resume && !opts.resumeFrom ? await task.onEvaluate?.(0, { ema: null }) : undefined;
    // The untrained model's restoration error is the baseline every later `restore_mse` is compared with.
    if (before) appendLinesDurable(path.join(opts.runDir, 'metrics.jsonl'), [JSON.stringify({ step: 0, ...before, time: new Date().toISOString() })]);
    const result = await train(task, {
      runDir: opts.runDir,
      steps: t.steps,
      gradAccumulate: t.gradAccumulate,
      beta1: t.beta1,
      beta2: t.beta2,
      ema: { beta: t.emaDecay, updateEvery: t.emaEvery, updateAfterStep: t.emaWarmup, power: t.emaPower, invGamma: t.emaInvGamma },
      checkpointEvery: t.checkpointEvery,
      keepCheckpoints: t.keepCheckpoints,
      evaluateEvery: monitor ? t.sampleEvery : 0,
      seed: t.seed,
      config,
      resume: opts.resume,
      resumeFrom: opts.resumeFrom,
      quiet: opts.quiet,
      onStep: opts.onStep,
      signal: opts.signal,
    });
    const after = monitor ? await task.onEvaluate?.(result.step, { ema: result.ema }) : undefined;
    result.ema?.dispose();
    result.optimizer.dispose();
    const restoreMse =
      before && after ? { before: before.restore_mse as number, after: after.restore_mse as number } : undefined;
    return { step: result.step, trainImages: trainFiles.length, heldOut, restoreMse };
  } finally {
    task.dispose();
    dataset.dispose();
    await loader.dispose();
    unet.dispose();
  }
}
