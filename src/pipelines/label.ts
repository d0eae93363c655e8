/**
 * The DifFIQA quality labeller (METHOD §2.2). For an aligned face x and its horizontal flip x^f, each repeated N
 * times: noise to t* with q_sample, reconstruct with the (t*+1)-evaluation stochastic DDIM, embed everything with an
 * FR model, and average the cosine similarities to the embedding of the unflipped original:
 *
 *   q(x) = 1/5 · [ mean_n s(e, e_t) + mean_n s(e, ê) + mean_n s(e, e_t^f) + mean_n s(e, ê^f) + s(e, e^f) ]
 *
 * Flipped outputs are not flipped back (as the reference). Higher = better. Unlike the reference, the original
 * and its flip are embedded once rather than N times each: 4N + 2 = 42 FR passes per image instead of 60, the
 * same score.
 *
 * Determinism: every random draw for an image comes from its own Rng seeded by (seed, image key), so a score does
 * not depend on batch size, order, sharding or resumption.
 */
import { parallelNormalArrays } from '../backend/random.js';
import { tf } from '../backend/tf.js';
import { ddimReconstruct, qSample, type X0Predictor } from '../diffusion/gaussian.js';
import type { NoiseSchedule } from '../diffusion/schedule.js';
import type { FrModel } from '../fr/types.js';
import { ShapeError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { cosineSimilarity } from '../util/vector.js';

/** Labeller settings (reference `inference_config.yaml`). */
export interface LabelOptions {
  /** Forward-noising step t* (reference 5; must be < 100, the trained range). */
  tStar: number;
  /** Repeats N per image and per flip (reference 10). */
  repeats: number;
  /** Base seed; each image's stream is derived from it and the image key. */
  seed: number | string;
  /** Noise schedule of the diffusion model. */
  schedule: NoiseSchedule;
  /** DDIM η (reference 1). */
  eta?: number;
}

/** The five averaged similarity terms of one image, and their mean (the quality). */
export interface LabelTerms {
  score: number;
  noised: number;
  restored: number;
  noised_flip: number;
  restored_flip: number;
  flip: number;
}

/** Column order of label files. */
export const LABEL_COLUMNS = ['score', 'noised', 'restored', 'noised_flip', 'restored_flip', 'flip'] as const;

/**
 * Hands out standard normals for a batch whose rows are grouped by image (image i owns rows
 * [i·k, (i+1)·k)): a request for n values returns each image's own next n/B draws, concatenated.
 */
class PerImageNoise {
  constructor(private readonly rngs: readonly Rng[]) {}

  normalArray(n: number): Float32Array {
    return parallelNormalArrays(this.rngs, n / this.rngs.length);
  }
}

/** Cosine similarity of each row of `a` [M,D] with the row `ref[owner[m]]` of `ref` [B,D], on the host. */
function cosineToOwner(a: Float32Array, ref: Float32Array, dim: number, owner: (row: number) => number): Float64Array {
  const rows = a.length / dim;
  const out = new Float64Array(rows);
  for (let m = 0; m < rows; m++) out[m] = cosineSimilarity(a, ref, m * dim, owner(m) * dim, dim);
  return out;
}

function mean(values: Float64Array, from: number, count: number): number {
  let s = 0;
  for (let i = from; i < from + count; i++) s += values[i] as number;
  return s / count;
}

/** Embeds images given in [−1,1] (the diffusion range) with an FR model that takes [0,1]; host result. */
function embedSigned(fr: FrModel, x: tf.Tensor4D): Float32Array {
  const e = tf.tidy(() => fr.embed(tf.mul(tf.add(x, 1), 0.5) as tf.Tensor4D));
  const data = e.dataSync() as Float32Array;
  e.dispose();
  return data;
}

/**
 * Labels a batch of aligned faces [B,H,W,3] in [0,1], keyed by `keys` (dataset-relative paths) for seeding.
 * Costs B·2N·(t*+1) diffusion evaluations and B·(4N+2) FR passes.
 */
export function labelBatch(diffusion: X0Predictor, fr: FrModel, images: tf.Tensor4D, keys: readonly string[], opts: LabelOptions): LabelTerms[] {
  const [b, h, w, c] = images.shape;
  if (keys.length !== b) throw new ShapeError("'keys' passed to labelBatch", `${b} keys`, `${keys.length}`);
  const n = opts.repeats;
  const rngs = keys.map((k) => new Rng(deriveSeed(opts.seed, k)));
  const noise = new PerImageNoise(rngs);

  const x = tf.tidy(() => tf.sub(tf.mul(images, 2), 1) as tf.Tensor4D);
  const xf = tf.reverse(x, 2) as tf.Tensor4D;
  const e = embedSigned(fr, x);
  const ef = embedSigned(fr, xf);
  // Rows of image i: [i·2N, i·2N+N) original copies, [i·2N+N, (i+1)·2N) flipped copies.
  const stacked = tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < b; i++) {
      parts.push(tf.tile(tf.slice(x, [i, 0, 0, 0], [1, h, w, c]), [n, 1, 1, 1]));
      parts.push(tf.tile(tf.slice(xf, [i, 0, 0, 0], [1, h, w, c]), [n, 1, 1, 1]));
    }
    return tf.concat(parts, 0) as tf.Tensor4D;
  });
  tf.dispose([x, xf]);
  const rowsPerImage = 2 * n;
  const eps = tf.tensor4d(noise.normalArray(stacked.size), stacked.shape);
  const xt = qSample(stacked, new Array<number>(stacked.shape[0]).fill(opts.tStar), eps, { schedule: opts.schedule });
  tf.dispose([stacked, eps]);
  const eT = embedSigned(fr, xt);
  const restored = ddimReconstruct(diffusion, xt, opts.tStar, noise as unknown as Rng, opts.eta ?? 1, { schedule: opts.schedule });
  xt.dispose();
  const eR = embedSigned(fr, restored);
  restored.dispose();

  const dim = fr.embeddingDim;
  const owner = (row: number): number => Math.floor(row / rowsPerImage);
  const sT = cosineToOwner(eT, e, dim, owner);
  const sR = cosineToOwner(eR, e, dim, owner);
  const sF = cosineToOwner(ef, e, dim, (row) => row);
  return keys.map((_, i) => {
    const base = i * rowsPerImage;
    const terms = {
      noised: mean(sT, base, n),
      restored: mean(sR, base, n),
      noised_flip: mean(sT, base + n, n),
      restored_flip: mean(sR, base + n, n),
      flip: sF[i] as number,
    };
    const score = (terms.noised + terms.restored + terms.noised_flip + terms.restored_flip + terms.flip) / 5;
    return { score, ...terms };
  });
}
