/**
 * `diffiqa label` as a library function: labels every image under a folder with the DifFIQA labeller, in
 * batches, with decoding of the next batch overlapped with the current one, resumable output (finished images are
 * skipped), optional sharding, and per-image error records.
 */
import * as path from 'node:path';
import { tf } from '../backend/tf.js';
import { decodeImage } from '../data/image-io.js';
import { listImageFiles } from '../data/files.js';
import type { X0Predictor } from '../diffusion/gaussian.js';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import type { FrModel } from '../fr/types.js';
import { describeError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { LABEL_COLUMNS, labelBatch } from './label.js';
import { ResultWriter, finishedPaths, parseShard, selectShard, type ErrorRow, type ResultRow } from './records.js';
import { withOutputLock } from '../util/output-lock.js';

/** Settings of a labelling run. */
export interface LabelRunOptions {
  /** Dataset root folder; result paths are relative to it. */
  data: string;
  /** Label only these files, folders or globs (under `data`); default everything under `data`. */
  files?: readonly string[];
  /** Output file (.csv or .jsonl); errors go to `<out>.errors.jsonl`, the format version to `<out>.meta.json`. */
  out: string;
  tStar: number;
  repeats: number;
  seed: number;
  /** Source images per batch (each becomes 2·repeats diffusion rows). */
  batchSize: number;
  /** `K/N`: label only shard K of N. */
  shard?: string;
  /** Decoded image side (the diffusion model's input size). */
  imageSize: number;
  quiet?: boolean;
}

/** Counts of a finished run. */
export interface LabelRunSummary {
  total: number;
  skippedDone: number;
  labelled: number;
  failed: number;
  seconds: number;
}

interface Decoded {
  rows: { key: string; data: Float32Array }[];
  errors: ErrorRow[];
}

async function decodeBatch(root: string, files: readonly string[], size: number): Promise<Decoded> {
  const results = await Promise.allSettled(files.map((f) => decodeImage(f, { size: { width: size, height: size } })));
  const out: Decoded = { rows: [], errors: [] };
  results.forEach((r, i) => {
    const key = relativeKey(root, files[i] as string);
    if (r.status === 'fulfilled') out.rows.push({ key, data: r.value.data });
    else out.errors.push({ path: key, error: describeError(r.reason) });
  });
  return out;
}

/** Dataset-relative path with forward slashes: the key of an image in every result file. */
export function relativeKey(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Runs the labeller over `opts.data` with the given models; returns what it did. */
export async function runLabeller(diffusion: X0Predictor, schedule: NoiseSchedule, fr: FrModel, opts: LabelRunOptions): Promise<LabelRunSummary> {
  return withOutputLock(opts.out, () => labelAll(diffusion, schedule, fr, opts)); // one writer per output file
}

async function labelAll(diffusion: X0Predictor, schedule: NoiseSchedule, fr: FrModel, opts: LabelRunOptions): Promise<LabelRunSummary> {
  const t0 = Date.now();
  const writer = new ResultWriter(opts.out, LABEL_COLUMNS);
  const listingSkips: ErrorRow[] = [];
  let files = listImageFiles(opts.files ?? opts.data, { onSkip: (e) => listingSkips.push({ path: relativeKey(opts.data, e.path), error: e.reason }) });
  if (opts.shard) files = selectShard(files, parseShard(opts.shard));
  const done = finishedPaths(opts.out);
  // Entries the listing could not use (unreadable names, link loops) are recorded once, like failed images.
  writer.append([], listingSkips.filter((e) => !done.has(e.path)));
  const todo = files.filter((f) => !done.has(relativeKey(opts.data, f)));
  const progress = new Progress('label', files.length, { unit: 'img', start: files.length - todo.length, quiet: opts.quiet });
  const batches: string[][] = [];
  for (let i = 0; i < todo.length; i += opts.batchSize) batches.push(todo.slice(i, i + opts.batchSize));
  let labelled = 0;
  let failed = 0;
  let next = batches.length ? decodeBatch(opts.data, batches[0] as string[], opts.imageSize) : null;
  for (let b = 0; b < batches.length; b++) {
    const decoded = await (next as Promise<Decoded>);
    // Start decoding the following batch while this one runs through the networks.
    next = b + 1 < batches.length ? decodeBatch(opts.data, batches[b + 1] as string[], opts.imageSize) : null;
    const rows = labelDecoded(diffusion, schedule, fr, decoded, opts);
    writer.append(rows, decoded.errors);
    labelled += rows.length;
    failed += decoded.errors.length;
    progress.tick((batches[b] as string[]).length, { failed });
  }
  progress.done({ failed });
  return { total: files.length, skippedDone: files.length - todo.length, labelled, failed, seconds: (Date.now() - t0) / 1000 };
}

function labelDecoded(diffusion: X0Predictor, schedule: NoiseSchedule, fr: FrModel, decoded: Decoded, opts: LabelRunOptions): ResultRow[] {
  if (decoded.rows.length === 0) return [];
  const s = opts.imageSize;
  const data = new Float32Array(decoded.rows.length * s * s * 3);
  decoded.rows.forEach((r, i) => data.set(r.data, i * s * s * 3));
  const images = tf.tensor4d(data, [decoded.rows.length, s, s, 3]);
  try {
    const terms = labelBatch(diffusion, fr, images, decoded.rows.map((r) => r.key), {
      tStar: opts.tStar,
      repeats: opts.repeats,
      seed: opts.seed,
      schedule,
    });
    return terms.map((t, i) => ({ path: decoded.rows[i]!.key, values: { ...t } }));
  } finally {
    images.dispose();
  }
}
