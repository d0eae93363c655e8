/**
 * Fast quality scoring with a trained regressor (DifFIQA(R) or eDifFIQA): one backbone pass per image instead of
 * DifFIQA's ~160 network passes (METHOD §6.1). Inference only: no training code here (STYLE §2.1).
 *
 * Scores are the raw regressor outputs by default. They can leave [0,1] (METHOD §6.2 DifFIQA#3): only the ranking
 * matters, so clipping (`clip: true`) is an option, not the default. Unlike upstream inference, a final batch of
 * exactly one image is scored like any other (METHOD §3, "known bug").
 */
import { tf } from '../backend/tf.js';
import { decodeImage, resizeImage } from '../data/image-io.js';
import type { RgbImage } from '../data/image.js';
import { listImageFiles } from '../data/files.js';
import type { QualityRegressor } from '../regressor/model.js';
import { describeSpec } from '../regressor/spec.js';
import { loadRegressorWeights, type RegressorMeta } from '../regressor/weights.js';
import { describeError, ShapeError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { finishedPaths, ResultWriter, type ErrorRow, type ResultRow } from './records.js';
import { withOutputLock } from '../util/output-lock.js';
import { shippedModelPath } from '../models/shipped.js';

/** A loaded regressor ready to score aligned crops. Call dispose() when done. */
export interface Scorer {
  /** `kind/backbone`, e.g. `ediffiqa/r50`. */
  readonly name: string;
  /** Side of the square aligned input (112 for the real models). */
  readonly inputSize: number;
  readonly meta: RegressorMeta;
  /** The underlying network (for embeddings or benchmarks). */
  readonly model: QualityRegressor;
  /**
   * Raw quality scores (higher is better) of aligned RGB crops in [0,1]: HWC Float32Arrays of inputSize^2*3
   * values each, or a [B,S,S,3] tensor (not disposed). Returns one score per image, also for a batch of one.
   */
  score(images: readonly Float32Array[] | tf.Tensor4D): Float32Array;
  dispose(): void;
}

/**
 * Loads a regressor for scoring: our `best.safetensors` (or its run folder), the authors' `diffiqa(r).pth`
 * / `ediffiqa{T,S,M,L}.pth`, or without a path the shipped eDifFIQA model (models/ediffiqa.md), checksum-verified.
 * @example const s = loadRegressor(); s.score([crop]); // Float32Array [0.96]
 * @example const s = loadRegressor('checkpoints/ediffiqa-t/best.safetensors');
 * @throws CheckpointError for a missing, corrupted or unrecognised file
 */
export function loadRegressor(path: string = shippedModelPath('ediffiqa')): Scorer {
  const { model, meta } = loadRegressorWeights(path);
  const size = model.inputSize;
  const toTensor = (images: readonly Float32Array[]): tf.Tensor4D => {
    const per = size * size * 3;
    const data = new Float32Array(images.length * per);
    images.forEach((img, i) => {
      if (img.length !== per) throw new ShapeError(`image ${i} passed to score`, `${size}x${size}x3 = ${per} values`, `${img.length} values`);
      data.set(img, i * per);
    });
    return tf.tensor4d(data, [images.length, size, size, 3]);
  };
  return {
    name: describeSpec(model.spec),
    inputSize: size,
    meta,
    model,
    score(images) {
      if (!(images instanceof tf.Tensor) && images.length === 0) return new Float32Array(0);
      const q = tf.tidy(() => model.forward(images instanceof tf.Tensor ? images : toTensor(images), false).quality);
      const out = q.dataSync() as Float32Array;
      q.dispose();
      return out;
    },
    dispose: () => model.dispose(),
  };
}

/** Options of `scoreFiles`. */
export interface ScoreFilesOptions {
  /** A regressor file/run folder, or an already loaded Scorer (not disposed). Default: the shipped eDifFIQA model. */
  model?: string | Scorer;
  /** Result file: `.csv` or `.jsonl`; errors go to `<out>.errors.jsonl`, the format version to `<out>.meta.json`. */
  out: string;
  /** Images per forward pass. Default 64. */
  batchSize?: number;
  /** Clip scores to [0,1]. Default false (raw scores keep the ranking information, METHOD §6.2). */
  clip?: boolean;
  /** Silence the progress bar. */
  quiet?: boolean;
  /**
   * Turns a file into an aligned RGB crop (e.g. detection + 5-point alignment, src/fr/align); its result is
   * resized to the model's input size when it differs. A throw records the file as failed. Default: decode and
   * resize (the files are already aligned crops).
   */
  prepare?: (file: string) => Promise<RgbImage>;
}

/** What a scoring run did. */
export interface ScoreSummary {
  scored: number;
  failed: number;
  /** Images already in `out` from an earlier run, skipped. */
  skipped: number;
  total: number;
}

async function prepareImage(file: string, size: number, prepare?: (file: string) => Promise<RgbImage>): Promise<RgbImage> {
  if (!prepare) return decodeImage(file, { size: { width: size, height: size } });
  return resizeImage(await prepare(file), size, size);
}

async function decodeBatch(paths: readonly string[], size: number, prepare?: (file: string) => Promise<RgbImage>): Promise<{ ok: [string, RgbImage][]; errors: ErrorRow[] }> {
  const settled = await Promise.allSettled(paths.map((p) => prepareImage(p, size, prepare)));
  const ok: [string, RgbImage][] = [];
  const errors: ErrorRow[] = [];
  settled.forEach((r, i) => {
    const p = paths[i] as string;
    if (r.status === 'fulfilled') ok.push([p, r.value]);
    else errors.push({ path: p, error: describeError(r.reason) });
  });
  return { ok, errors };
}

/**
 * Scores image files (files, folders, globs) in batches, appending `path,quality` rows durably per batch.
 * An image that fails to decode is recorded in the errors file and the run continues; a rerun skips every path
 * already in `out` or its errors file, so a killed run resumes where it stopped.
 */
export async function scoreFiles(inputs: string | readonly string[], opts: ScoreFilesOptions): Promise<ScoreSummary> {
  return withOutputLock(opts.out, () => scoreAll(inputs, opts)); // one writer per output file
}

async function scoreAll(inputs: string | readonly string[], opts: ScoreFilesOptions): Promise<ScoreSummary> {
  // The writer first: it trims a half-written last row that would break reading what is already done.
  const writer = new ResultWriter(opts.out, ['quality']);
  const listingSkips: ErrorRow[] = [];
  const files = listImageFiles(inputs, { onSkip: (e) => listingSkips.push({ path: e.path, error: e.reason }) });
  const done = finishedPaths(opts.out);
  writer.append([], listingSkips.filter((e) => !done.has(e.path)));
  const todo = files.filter((f) => !done.has(f));
  const scorer = typeof opts.model === 'object' ? opts.model : loadRegressor(opts.model);
  const batchSize = Math.max(1, opts.batchSize ?? 64);
  const progress = new Progress('score', todo.length, { unit: 'img', quiet: opts.quiet });
  const summary: ScoreSummary = { scored: 0, failed: 0, skipped: files.length - todo.length, total: files.length };
  try {
    for (let start = 0; start < todo.length; start += batchSize) {
      const { ok, errors } = await decodeBatch(todo.slice(start, start + batchSize), scorer.inputSize, opts.prepare);
      const scores = scorer.score(ok.map(([, img]) => img.data));
      const rows: ResultRow[] = ok.map(([p], i) => {
        const q = scores[i] as number;
        return { path: p, values: { quality: opts.clip ? Math.min(1, Math.max(0, q)) : q } };
      });
      writer.append(rows, errors);
      summary.scored += rows.length;
      summary.failed += errors.length;
      progress.update(start + ok.length + errors.length);
    }
  } finally {
    progress.done();
    if (typeof opts.model !== 'object') scorer.dispose();
  }
  return summary;
}
