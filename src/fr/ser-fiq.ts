/**
 * SER-FIQ (Terhörst et al., "SER-FIQ: Unsupervised Estimation of Face Image Quality Based on Stochastic Embedding
 * Robustness", CVPR 2020), the same-model variant: an image's quality is how little its embedding moves when
 * dropout perturbs the FR network. m forward passes of the embedding layer, each with its own dropout mask on the
 * layer's input, give embeddings x_1..x_m (L2-normalised), and
 *
 *   q = 2 · sigmoid(-(2 / m²) · Σ_{i<j} ‖x_i − x_j‖)
 *
 * (the paper's equation; m = 100 and dropout rate 0.5 are the paper's settings).
 *
 * On `mobileface` the dropout acts on the 2048 flattened features before its dense embedding layer: the place of
 * the dropout in ArcFace's output block, which the paper perturbs. Deviation from the paper: mobileface was not
 * trained with dropout there (ArcFace ResNet-100 was), so the masks perturb a layer that never saw dropout; the
 * paper's own variant for FR models without dropout trains a small network on top, which we do not do. Measured
 * on 7 LFW faces (30 passes): q barely separates a face from its 9x9 box-blurred copy at any rate (0.5: 0.462 vs
 * 0.464 on average; 0.05: 0.736 vs 0.740), so expect it to rank poorly here; it is evaluated as the paper defines
 * it, not tuned.
 *
 * The features are computed once per image; only the embedding layer runs m times. Each image's masks come from
 * its own seeded stream (`deriveSeed(seed, key)`), so a quality does not depend on batching or on the other images.
 */
import { tf } from '../backend/tf.js';
import { ConfigError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { decodeFaceBatch } from './embed.js';
import { loadMobilefaceParams, mobilefaceEmbeddingLayer, mobilefaceFeatures } from './mobileface.js';
import type { ParamStore } from '../nn/params.js';

/** Settings of SER-FIQ. */
export interface SerFiqOptions {
  /** Stochastic passes m (the paper: 100). */
  passes?: number;
  /** Dropout rate (the paper: 0.5). */
  dropout?: number;
  /** Base seed of the dropout masks. */
  seed?: string | number;
  /** Images per feature pass. */
  batchSize?: number;
  /** Called after each batch with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** The paper's settings. */
export const SER_FIQ_DEFAULTS = { passes: 100, dropout: 0.5 } as const;

/**
 * Inverted-dropout masks for one image: [passes, dim], each entry 0 (dropped) or 1/(1-rate), drawn from the
 * image's own stream.
 */
export function dropoutMasks(passes: number, dim: number, rate: number, rng: Rng): Float32Array {
  const keep = 1 / (1 - rate);
  const masks = new Float32Array(passes * dim);
  for (let i = 0; i < masks.length; i++) masks[i] = rng.uniform() < rate ? 0 : keep;
  return masks;
}

/**
 * The SER-FIQ score of m embeddings (rows of `emb`, [m, d], not yet normalised), in float64:
 * 2·sigmoid(-(2/m²)·Σ_{i<j}‖x̂_i − x̂_j‖) with x̂ = x/‖x‖.
 */
export function serFiqScore(emb: Float32Array, m: number, d: number): number {
  const unit = new Float64Array(m * d);
  for (let i = 0; i < m; i++) {
    let n = 0;
    for (let k = 0; k < d; k++) n += (emb[i * d + k] as number) ** 2;
    const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
    for (let k = 0; k < d; k++) unit[i * d + k] = (emb[i * d + k] as number) * inv;
  }
  let sum = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += ((unit[i * d + k] as number) - (unit[j * d + k] as number)) ** 2;
      sum += Math.sqrt(s);
    }
  }
  return 2 / (1 + Math.exp((2 / (m * m)) * sum));
}

function checkOptions(passes: number, dropout: number): void {
  if (!(Number.isInteger(passes) && passes >= 2)) throw new ConfigError('<ser-fiq>', 'passes', `expected an integer >= 2, got ${passes}`);
  if (!(dropout >= 0 && dropout < 1)) throw new ConfigError('<ser-fiq>', 'dropout', `expected a rate in [0, 1), got ${dropout}`);
}

/** SER-FIQ of each image of a decoded batch [B,112,112,3] whose seeding keys are `keys`. */
export function serFiqBatch(params: ParamStore, x: tf.Tensor4D, keys: readonly string[], opts: SerFiqOptions = {}): number[] {
  const passes = opts.passes ?? SER_FIQ_DEFAULTS.passes;
  const dropout = opts.dropout ?? SER_FIQ_DEFAULTS.dropout;
  checkOptions(passes, dropout);
  const features = mobilefaceFeatures(params, x);
  const [b, dim] = features.shape;
  const flat = features.dataSync() as Float32Array;
  features.dispose();
  const out: number[] = [];
  for (let i = 0; i < b; i++) {
    const masks = dropoutMasks(passes, dim, dropout, new Rng(deriveSeed(opts.seed ?? 0, keys[i] as string)));
    const row = flat.subarray(i * dim, (i + 1) * dim);
    for (let r = 0; r < passes; r++) for (let k = 0; k < dim; k++) masks[r * dim + k] = (masks[r * dim + k] as number) * (row[k] as number);
    const emb = tf.tidy(() => mobilefaceEmbeddingLayer(params, tf.tensor2d(masks, [passes, dim])));
    const e = emb.dataSync() as Float32Array;
    out.push(serFiqScore(e, passes, emb.shape[1]));
    emb.dispose();
  }
  return out;
}

/**
 * SER-FIQ qualities of aligned face images on `mobileface`: key -> quality in (0, 1], higher is better.
 * `resolve` maps a key (the seeding name, e.g. a dataset-relative path) to its file.
 */
export async function serFiqQualities(keys: readonly string[], resolve: (key: string) => string, opts: SerFiqOptions = {}): Promise<Map<string, number>> {
  checkOptions(opts.passes ?? SER_FIQ_DEFAULTS.passes, opts.dropout ?? SER_FIQ_DEFAULTS.dropout);
  const params = loadMobilefaceParams();
  const batchSize = opts.batchSize ?? 32;
  const out = new Map<string, number>();
  try {
    for (let start = 0; start < keys.length; start += batchSize) {
      const chunk = keys.slice(start, start + batchSize);
      const x = tf.tensor4d(await decodeFaceBatch(chunk.map(resolve)), [chunk.length, 112, 112, 3]);
      try {
        serFiqBatch(params, x, chunk, opts).forEach((q, i) => out.set(chunk[i] as string, q));
      } finally {
        x.dispose();
      }
      opts.onProgress?.(Math.min(start + batchSize, keys.length), keys.length);
    }
  } finally {
    params.dispose();
  }
  return out;
}
