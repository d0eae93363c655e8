/**
 * The generic training loop shared by the diffusion model and the regressors: gradient accumulation, Adam with
 * parameter groups, optional EMA, atomic checkpoints with exact resume, a JSONL metrics log, a progress bar, and
 * a hard stop on a non-finite loss that leaves the last good checkpoint untouched.
 *
 * Exact resume: the model, optimiser moments and step, EMA, and the trainer's RNG state are all checkpointed, and
 * the task's data must be a pure function of the micro-step index, so N steps + resume + N steps reproduces a
 * straight 2N-step run bit for bit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend/tf.js';
import type { HostTensor, ParamStore } from '../nn/params.js';
import { appendLinesDurable, ensureDir, writeFileAtomic } from '../util/atomic.js';
import { DiffiqaError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { Rng, type RngState } from '../util/rng.js';
import { Adam, type ParamGroup } from './adam.js';
import { loadCheckpoint, latestCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { Ema, type EmaOptions } from './ema.js';
import { withOutputLock } from '../util/output-lock.js';

/** What a model contributes to training. Batches must depend only on the micro-step index. */
export interface TrainTask<B> {
  /** All weights (and buffers) saved in checkpoints. */
  readonly params: ParamStore;
  /** Parameter groups for the optimiser (trainable variables with their learning rates). */
  paramGroups(): ParamGroup[];
  /** The micro-batch for global micro-step `index` (step * gradAccumulate + k). */
  batch(index: number): Promise<B>;
  /** Scalar loss of one micro-batch; runs inside tf.variableGrads. Randomness must come from `rng`. */
  loss(batch: B, rng: Rng): tf.Scalar;
  /** Frees a batch after use. */
  disposeBatch?(batch: B): void;
  /** Extra task state saved in checkpoints (e.g. the data stream position) and restored on resume. */
  saveState?(): unknown;
  loadState?(state: unknown): void;
  /** Periodic hook (restoration grids, validation); may return extra metrics to log. */
  onEvaluate?(step: number, ctx: { ema: Ema | null }): Promise<Record<string, number> | void>;
}

export interface TrainerOptions {
  /** Run folder: checkpoints, metrics.jsonl, samples. */
  runDir: string;
  /** Total optimiser steps. */
  steps: number;
  gradAccumulate: number;
  beta1: number;
  beta2: number;
  clipGradNorm?: number;
  ema?: EmaOptions;
  checkpointEvery: number;
  /** Checkpoints kept on disk, newest first (default 2: the latest and one fallback). */
  keepCheckpoints?: number;
  /** Call task.onEvaluate every this many steps (0 = never). */
  evaluateEvery: number;
  seed: number;
  /** Resolved config saved in every checkpoint. */
  config: unknown;
  /** Continue from the run folder's latest checkpoint (or from `resumeFrom`). */
  resume?: boolean;
  resumeFrom?: string;
  quiet?: boolean;
  /** Called after every optimiser step (tests use it to kill or inspect). */
  onStep?(step: number, loss: number): void;
  /**
   * Stops the run cleanly: once aborted, the step in progress finishes, a checkpoint is written and
   * {@link InterruptedError} is thrown, so Ctrl-C loses nothing and `--resume` continues exactly there.
   */
  signal?: AbortSignal;
}

interface TrainerState {
  task?: unknown;
  adamT: number;
  emaStep: number;
  rng: RngState;
  config: unknown;
}

/** Raised when the loss becomes NaN or infinite. */
export class DivergenceError extends DiffiqaError {
  constructor(step: number, loss: number, lastCheckpoint: string | null) {
    super(
      `loss is ${loss} at step ${step}: training stopped. ${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}` : 'No checkpoint was written yet'}; lower the learning rate or check the data.`,
      'E_DIVERGED',
    );
  }
}

/** Raised after a run stopped on request (its `signal` aborted) and saved a checkpoint of the last step. */
export class InterruptedError extends DiffiqaError {
  constructor(
    readonly step: number,
    readonly checkpoint: string | null,
  ) {
    super(`interrupted at step ${step}; ${checkpoint ? `checkpoint ${checkpoint} holds it: rerun with --resume to continue` : 'no checkpoint was written'}`, 'E_INTERRUPTED');
  }
}

/** Runs (or resumes) training; returns the final step reached. */
export async function train<B>(task: TrainTask<B>, opts: TrainerOptions): Promise<{ step: number; ema: Ema | null; optimizer: Adam }> {
  ensureDir(opts.runDir);
  return withOutputLock(opts.runDir, () => trainSteps(task, opts)); // one trainer per run folder
}

async function trainSteps<B>(task: TrainTask<B>, opts: TrainerOptions): Promise<{ step: number; ema: Ema | null; optimizer: Adam }> {
  const optimizer = new Adam(task.paramGroups(), { beta1: opts.beta1, beta2: opts.beta2, clipGradNorm: opts.clipGradNorm });
  const ema = opts.ema ? new Ema(task.params, opts.ema) : null;
  let rng = new Rng(opts.seed);
  let step = 0;
  const resumeDir = opts.resumeFrom ?? (opts.resume ? latestCheckpoint(opts.runDir) : null);
  if (resumeDir) {
    const ckpt = loadCheckpoint<TrainerState>(resumeDir);
    task.params.loadTorchStateDict(requireTensors(ckpt.tensors, 'model', resumeDir), resumeDir);
    optimizer.restore(requireTensors(ckpt.tensors, 'optim', resumeDir), resumeDir);
    optimizer.t = ckpt.state.adamT;
    if (ema) {
      ema.restoreTorch(requireTensors(ckpt.tensors, 'ema', resumeDir), resumeDir);
      ema.step = ckpt.state.emaStep;
    }
    rng = Rng.fromState(ckpt.state.rng);
    if (task.loadState) task.loadState(ckpt.state.task);
    step = ckpt.step;
  }
  const metricsPath = path.join(opts.runDir, 'metrics.jsonl');
  truncateMetrics(metricsPath, step);
  const vars = optimizer.variables();
  const progress = new Progress('train', opts.steps, { unit: 'step', start: step, quiet: opts.quiet });
  let lastCheckpoint = resumeDir;
  let savedStep = step;

  const save = (): void => {
    const tensors: Record<string, Map<string, HostTensor>> = {
      // Weights in PyTorch layouts under the reference names, so the reference code can read them too.
      model: task.params.toTorchStateDict(),
      optim: optimizer.snapshot(),
    };
    if (ema) tensors.ema = ema.snapshotTorch();
    const state: TrainerState = { task: task.saveState?.(), adamT: optimizer.t, emaStep: ema?.step ?? 0, rng: rng.state(), config: opts.config };
    lastCheckpoint = saveCheckpoint(opts.runDir, { step, tensors, state }, opts.keepCheckpoints ?? 2);
    savedStep = step;
  };
  const stopIfAsked = (): void => {
    if (!opts.signal?.aborted) return;
    if (savedStep !== step) save();
    progress.done();
    throw new InterruptedError(step, lastCheckpoint);
  };

  while (step < opts.steps) {
    stopIfAsked();
    const t0 = Date.now();
    const { loss, grads } = await accumulate(task, vars, rng, step, opts.gradAccumulate);
    if (!Number.isFinite(loss)) {
      disposeAll(grads);
      throw new DivergenceError(step + 1, loss, lastCheckpoint);
    }
    const gradNorm = optimizer.step(grads);
    disposeAll(grads);
    ema?.update();
    step += 1;
    const record: Record<string, number> = { step, loss, grad_norm: gradNorm, sec: (Date.now() - t0) / 1000 };
    if (opts.evaluateEvery > 0 && step % opts.evaluateEvery === 0 && task.onEvaluate) {
      Object.assign(record, (await task.onEvaluate(step, { ema })) ?? {});
    }
    appendLinesDurable(metricsPath, [JSON.stringify({ ...record, time: new Date().toISOString() })]);
    if (step % opts.checkpointEvery === 0 || step === opts.steps) save();
    progress.update(step, { loss });
    opts.onStep?.(step, loss);
  }
  progress.done();
  return { step, ema, optimizer };
}

/** Sums gradients of `gradAccumulate` micro-batches and averages them (PyTorch's loss / accumulate). */
async function accumulate<B>(
  task: TrainTask<B>,
  vars: tf.Variable[],
  rng: Rng,
  step: number,
  gradAccumulate: number,
): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  let total = 0;
  let sum: Record<string, tf.Tensor> = {};
  for (let k = 0; k < gradAccumulate; k++) {
    const batch = await task.batch(step * gradAccumulate + k);
    const { value, grads } = tf.variableGrads(() => task.loss(batch, rng).div(gradAccumulate) as tf.Scalar, vars);
    task.disposeBatch?.(batch);
    total += (await value.data())[0] as number;
    value.dispose();
    if (k === 0) {
      sum = grads;
    } else {
      const next: Record<string, tf.Tensor> = {};
      for (const name of Object.keys(sum)) {
        next[name] = tf.add(sum[name] as tf.Tensor, grads[name] as tf.Tensor);
      }
      disposeAll(sum);
      disposeAll(grads);
      sum = next;
    }
  }
  return { loss: total, grads: sum };
}

function disposeAll(m: Record<string, tf.Tensor>): void {
  for (const t of Object.values(m)) t.dispose();
}

function requireTensors(
  tensors: Record<string, Map<string, HostTensor>>,
  stem: string,
  dir: string,
): Map<string, HostTensor> {
  const t = tensors[stem];
  if (!t) throw new DiffiqaError(`${dir}: checkpoint has no ${stem}.safetensors`, 'E_CHECKPOINT');
  return t;
}

/** On resume, drops metric lines past the checkpoint step so a killed run leaves no duplicate steps. */
function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as { step: number }).step <= step;
      } catch {
        return false; // a half-written last line from a kill
      }
    });
  writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}
