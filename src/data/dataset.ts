/**
 * The training data source of the diffusion model (METHOD §1.4, §1.5): HQ/LQ pairs from a list of image files,
 * in batches `[B,H,W,3]` mapped to [-1,1], produced ahead of the consumer by an ordered prefetch queue.
 *
 * Reproducibility: the file order of epoch e is a shuffle seeded by (seed, e), and each sample's randomness
 * (flip, degradation) by (seed, e, file index). A position is `{epoch, cursor}`; every batch reports the position
 * after it (`next`), so a trainer that saves it and calls `seek` on resume gets exactly the batches of a straight
 * run, skipped files included. Bad files are skipped, recorded (callback + JSONL log) and never fatal.
 */
import { appendLinesDurable } from '../util/atomic.js';
import { DataError, describeError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { type SkippedEntry, listImageFiles } from './files.js';
import { CHANNELS, writeSigned } from './image.js';
import { DEFAULT_IMAGE_SIZE } from './image-io.js';
import { type TrainingPair, type TrainingPairOptions, loadTrainingPair } from './training-pair.js';

/** A position in the sample stream: `cursor` indexes epoch `epoch`'s shuffled order. */
export interface DataState {
  epoch: number;
  cursor: number;
}

/** A batch of pairs, `[B,H,W,3]` row-major, values in [-1,1]. */
export interface PairBatch {
  batchSize: number;
  height: number;
  width: number;
  hq: Float32Array;
  lq: Float32Array;
  paths: string[];
  /** Position of the batch's first sample. */
  start: DataState;
  /** Position after the batch: save it, and `seek` to it to resume. */
  next: DataState;
}

/** A file skipped while producing samples. */
export interface SkippedSample {
  path: string;
  reason: string;
  epoch: number;
  cursor: number;
}

/** Loads one pair; injectable so that a worker pool (or a test) can provide it. */
export type PairLoader = (path: string, rng: Rng, options: TrainingPairOptions) => Promise<TrainingPair>;

/** Options of `PairDataset`. */
export interface PairDatasetOptions {
  /** Image files, e.g. from `listImageFiles`. */
  files: readonly string[];
  seed: string | number;
  batchSize: number;
  /** Output size; default 112x112. */
  width?: number;
  height?: number;
  /** Batches prepared ahead of the consumer; default 2; 0 loads only what each `nextBatch` call needs. */
  prefetchBatches?: number;
  /** Samples loaded at the same time; default 4 (sharp decodes on its own threads meanwhile). */
  concurrency?: number;
  /** JSONL file receiving one `{path, reason, epoch, cursor}` line per skipped file (first time only). */
  skipLogPath?: string;
  onSkip?: (skip: SkippedSample) => void;
  flipProb?: number;
  /** Longest source side kept for the LQ chain; default 1024. */
  maxSourceSide?: number;
  loadPair?: PairLoader;
}

type SampleResult = { ok: true; pair: TrainingPair; path: string } | { ok: false; path: string; reason: string };

interface Pending {
  pos: DataState;
  result: Promise<SampleResult>;
}

/** HQ/LQ pair batches over a fixed file list, deterministic for a seed, with prefetching and skip records. */
export class PairDataset {
  readonly width: number;
  readonly height: number;
  readonly batchSize: number;
  private readonly files: readonly string[];
  private readonly opts: PairDatasetOptions;
  private readonly loader: PairLoader;
  private readonly orders = new Map<number, Int32Array>();
  private readonly badFiles = new Map<number, string>();
  private readonly logged = new Set<number>();
  private state: DataState = { epoch: 0, cursor: 0 };
  private launchPos: DataState = { epoch: 0, cursor: 0 };
  private queue: Pending[] = [];
  private active = 0;
  private waiting: (() => void)[] = [];
  private generation = 0;

  constructor(options: PairDatasetOptions) {
    if (options.files.length === 0) throw new DataError('<file list>', 'no image files given to the dataset');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new DataError('<dataset>', `batchSize must be a positive integer, got ${options.batchSize}`);
    }
    this.files = options.files;
    this.opts = options;
    this.width = options.width ?? DEFAULT_IMAGE_SIZE;
    this.height = options.height ?? DEFAULT_IMAGE_SIZE;
    this.batchSize = options.batchSize;
    this.loader = options.loadPair ?? loadTrainingPair;
  }

  /** Number of files (skipped ones included). */
  get length(): number {
    return this.files.length;
  }

  /** The position the next batch starts from. */
  get position(): DataState {
    return { ...this.state };
  }

  /** Files found bad so far, with the reason. */
  get skipped(): ReadonlyMap<string, string> {
    return new Map([...this.badFiles].map(([i, r]) => [this.files[i], r]));
  }

  /**
   * Position after `step` batches of a straight run, assuming no file is skipped. With skipped files, resume from
   * the `next` field of the last consumed batch instead (exact in every case).
   */
  stateAt(step: number): DataState {
    const consumed = step * this.batchSize;
    return { epoch: Math.floor(consumed / this.files.length), cursor: consumed % this.files.length };
  }

  /** Moves to `state`; work already prefetched for other positions is discarded. */
  seek(state: DataState): void {
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.cursor) || state.cursor < 0 || state.cursor >= this.files.length) {
      throw new DataError('<dataset state>', `invalid position ${JSON.stringify(state)} for ${this.files.length} files`);
    }
    this.generation++;
    this.queue = [];
    this.state = { ...state };
    this.launchPos = { ...state };
  }

  /** The shuffled file order of `epoch` (a permutation of file indices). */
  orderOf(epoch: number): Int32Array {
    let order = this.orders.get(epoch);
    if (!order) {
      const idx = Array.from({ length: this.files.length }, (_, i) => i);
      order = Int32Array.from(new Rng(deriveSeed(this.opts.seed, `order:${epoch}`)).shuffle(idx));
      if (this.orders.size > 4) this.orders.delete(Math.min(...this.orders.keys()));
      this.orders.set(epoch, order);
    }
    return order;
  }

  /**
   * The next batch. Samples are consumed in position order; a bad file is skipped (and the next one taken), so
   * a batch is always full. Prefetching of the following batches continues in the background.
   * @throws DataError if a whole epoch's worth of consecutive files failed
   */
  async nextBatch(): Promise<PairBatch> {
    const { batchSize: b, width: w, height: h } = this;
    const size = w * h * CHANNELS;
    const hq = new Float32Array(b * size);
    const lq = new Float32Array(b * size);
    const paths: string[] = [];
    const start = { ...this.state };
    let failures = 0;
    while (paths.length < b) {
      this.refill();
      const item = this.queue.shift() as Pending;
      const res = await item.result;
      this.state = this.advance(item.pos);
      if (res.ok) {
        writeSigned(res.pair.hq, hq, paths.length * size);
        writeSigned(res.pair.lq, lq, paths.length * size);
        paths.push(res.path);
        failures = 0;
      } else if (++failures >= this.files.length) {
        throw new DataError(res.path, `no decodable image in a whole epoch (${this.files.length} files); last: ${res.reason}`);
      }
    }
    if ((this.opts.prefetchBatches ?? 2) > 0) this.refill();
    return { batchSize: b, height: h, width: w, hq, lq, paths, start, next: { ...this.state } };
  }

  /** Endless batches. */
  async *batches(): AsyncGenerator<PairBatch> {
    for (;;) yield await this.nextBatch();
  }

  /** Stops prefetching (in-flight loads finish and are dropped). */
  dispose(): void {
    this.generation++;
    this.queue = [];
  }

  private advance(pos: DataState): DataState {
    return pos.cursor + 1 >= this.files.length ? { epoch: pos.epoch + 1, cursor: 0 } : { epoch: pos.epoch, cursor: pos.cursor + 1 };
  }

  private refill(): void {
    const window = Math.max(1, this.opts.prefetchBatches ?? 2) * this.batchSize;
    while (this.queue.length < window) {
      const pos = this.launchPos;
      this.launchPos = this.advance(pos);
      const result = this.load(pos, this.generation);
      result.catch(() => undefined); // a load dropped by `seek` must not become an unhandled rejection
      this.queue.push({ pos, result });
    }
  }

  private async load(pos: DataState, generation: number): Promise<SampleResult> {
    const fileIndex = this.orderOf(pos.epoch)[pos.cursor];
    const path = this.files[fileIndex];
    const known = this.badFiles.get(fileIndex);
    if (known !== undefined) return { ok: false, path, reason: known };
    await this.acquire();
    try {
      if (generation !== this.generation) return { ok: false, path, reason: 'discarded by seek' };
      const rng = new Rng(deriveSeed(this.opts.seed, `sample:${pos.epoch}:${fileIndex}`));
      const pair = await this.loader(path, rng, {
        width: this.width,
        height: this.height,
        flipProb: this.opts.flipProb,
        maxSourceSide: this.opts.maxSourceSide,
      });
      return { ok: true, pair, path };
    } catch (err) {
      if (!(err instanceof DataError)) throw err; // a bug, not a bad file: let it surface
      this.recordSkip(fileIndex, pos, err.reason);
      return { ok: false, path, reason: err.reason };
    } finally {
      this.release();
    }
  }

  private recordSkip(fileIndex: number, pos: DataState, reason: string): void {
    this.badFiles.set(fileIndex, reason);
    if (this.logged.has(fileIndex)) return;
    this.logged.add(fileIndex);
    const skip: SkippedSample = { path: this.files[fileIndex], reason, epoch: pos.epoch, cursor: pos.cursor };
    if (this.opts.skipLogPath) {
      try {
        appendLinesDurable(this.opts.skipLogPath, [JSON.stringify(skip)]);
      } catch (err) {
        // The skip log is a record, not the training data: losing a line must not stop the run.
        process.emitWarning(`cannot write skip log: ${describeError(err)}`);
      }
    }
    this.opts.onSkip?.(skip);
  }

  private async acquire(): Promise<void> {
    const limit = Math.max(1, this.opts.concurrency ?? 4);
    if (this.active < limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

/**
 * Lists the images under `inputs` (files, folders, globs; see `listImageFiles`) and opens a `PairDataset` on them.
 * @example
 * const ds = openPairDataset('data/celeba', { seed: 1, batchSize: 16 });
 * const batch = await ds.nextBatch(); // batch.hq, batch.lq: Float32Array [16,112,112,3] in [-1,1]
 * @throws DataError when no image file is found
 */
export function openPairDataset(
  inputs: string | readonly string[],
  options: Omit<PairDatasetOptions, 'files'> & { onListSkip?: (entry: SkippedEntry) => void },
): PairDataset {
  const files = listImageFiles(inputs, { onSkip: options.onListSkip });
  return new PairDataset({ ...options, files });
}
