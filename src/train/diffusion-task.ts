/**
 * Wires the extended-DDPM diffusion model (METHOD §1.3-§1.5) into the generic trainer: batches of HQ/LQ pairs
 * from a PairDataset, the x0 loss, and periodic restoration grids (LQ | restored | HQ) written as PNG from the EMA
 * weights, with the restoration MSE logged.
 */
import * as path from 'node:path';
import { tf } from '../backend/tf.js';
import { encodeImage } from '../data/image-io.js';
import { wrapImage, type RgbImage } from '../data/image.js';
import type { DataState, PairBatch, PairDataset } from '../data/dataset.js';
import { diffusionLoss, restore, type DiffusionProcessOptions } from '../diffusion/gaussian.js';
import { createUnet, type Unet } from '../diffusion/unet.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import type { Ema } from './ema.js';
import type { TrainTask } from './trainer.js';

type Batch = { hq: tf.Tensor4D; lq: tf.Tensor4D };

/** Settings of the diffusion task. */
export interface DiffusionTaskOptions {
  lr: number;
  process: DiffusionProcessOptions;
  /** Where grids go (`<runDir>/samples`). */
  runDir: string;
  /** Fixed LQ/HQ examples for the grids and the restoration MSE (a held-out batch). */
  monitor?: PairBatch;
  /** Start step of the monitoring restoration (reference: 100). */
  restoreFrom?: number;
}

/** A TrainTask for `unet` on `dataset`. The dataset position is checkpointed for exact resume. */
export function createDiffusionTask(unet: Unet, dataset: PairDataset, opts: DiffusionTaskOptions): TrainTask<Batch> & { dispose(): void } {
  let position: DataState = dataset.position;
  let emaUnet: Unet | null = null;
  return {
    params: unet.params,
    paramGroups: () => [{ lr: opts.lr, params: unet.params.trainableNamed() }],
    async batch() {
      // The stream is sequential; resume restores its position through loadState, so the index is implied.
      const b = await dataset.nextBatch();
      position = b.next;
      const shape: [number, number, number, number] = [b.batchSize, b.height, b.width, 3];
      return { hq: tf.tensor4d(b.hq, shape), lq: tf.tensor4d(b.lq, shape) };
    },
    loss: ({ hq, lq }, rng) => diffusionLoss(unet, hq, lq, rng, opts.process),
    disposeBatch: ({ hq, lq }) => tf.dispose([hq, lq]),
    saveState: () => position,
    loadState(state) {
      if (state) {
        position = state as DataState;
        dataset.seek(position);
      }
    },
    async onEvaluate(step, { ema }) {
      if (!opts.monitor) return;
      const model = ema ? (emaUnet ??= createUnet(unet.config, new Rng(0))) : unet;
      if (ema) emaUnet!.params.restore(ema.snapshot(), 'ema');
      const { mse, grid } = await restorationGrid(model, opts.monitor, opts.restoreFrom ?? 100, opts.process);
      writeFileAtomic(path.join(opts.runDir, 'samples', `step-${String(step).padStart(7, '0')}.png`), grid);
      return { restore_mse: mse };
    },
    /** Frees the EMA copy used for the grids (the UNet and dataset belong to the caller). */
    dispose: () => emaUnet?.dispose(),
  };
}

/**
 * Restores the monitor batch's LQ images and returns the MSE to HQ (in [-1,1] units) and a PNG grid with one
 * row per example: LQ, restoration, HQ.
 */
export async function restorationGrid(
  model: Unet | Ema,
  monitor: PairBatch,
  startT: number,
  process: DiffusionProcessOptions,
): Promise<{ mse: number; grid: Uint8Array; restored: Float32Array }> {
  const shape: [number, number, number, number] = [monitor.batchSize, monitor.height, monitor.width, 3];
  const lq = tf.tensor4d(monitor.lq, shape);
  const out = restore(model as Unet, lq, startT, process);
  const restored = (await out.data()) as Float32Array;
  tf.dispose([lq, out]);
  let se = 0;
  for (let i = 0; i < restored.length; i++) se += ((restored[i] as number) - (monitor.hq[i] as number)) ** 2;
  const grid = await encodeImage(gridImage([monitor.lq, restored, monitor.hq], monitor), { format: 'png' });
  return { mse: se / restored.length, grid: new Uint8Array(grid), restored };
}

/** Lays out columns of [-1,1] batches side by side, one row per example, as a [0,1] image. */
function gridImage(columns: readonly Float32Array[], b: PairBatch): RgbImage {
  const { width: w, height: h, batchSize: n } = b;
  const cols = columns.length;
  const out = new Float32Array(n * h * cols * w * 3);
  const rowStride = cols * w * 3;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < cols; c++) {
      const src = columns[c] as Float32Array;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w * 3; x++) {
          const v = ((src[((i * h + y) * w) * 3 + x] as number) + 1) / 2;
          out[(i * h + y) * rowStride + c * w * 3 + x] = Math.min(1, Math.max(0, v));
        }
      }
    }
  }
  return wrapImage(cols * w, n * h, out);
}
