/**
 * Quality baselines that every pAUC table includes next to the FIQA methods (METHOD.md §5):
 * - `random`: a seeded uniform draw per image, the "no information" reference (normalised pAUC ≈ 1);
 * - `sharpness`: the variance of the Laplacian of the grayscale image, the classic blur measure;
 * - `embedding-norm`: the L2 norm of the raw (not normalised) FR embedding, which correlates with quality for
 *   margin-loss FR models (the MagFace observation).
 * Pure functions over arrays; the caller decodes images and computes embeddings.
 */
import { Rng, deriveSeed } from '../util/rng.js';
import { ShapeError } from '../util/errors.js';

/** Names of the built-in baselines, as they appear in reports. */
export const BASELINE_NAMES = ['random', 'sharpness', 'embedding-norm'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

/**
 * Uniform [0, 1) quality per image, seeded per path (`deriveSeed(seed, path)`), so the value of an image does not
 * depend on the order or the set of images evaluated.
 */
export function computeRandomQualities(paths: Iterable<string>, seed: string | number = 0): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of paths) out.set(p, new Rng(deriveSeed(seed, p)).uniform());
  return out;
}

/** An RGB image as float HWC in [0,1] (the `RgbImage` of src/data). */
export interface HwcImage {
  width: number;
  height: number;
  /** `[H,W,3]` interleaved. */
  data: ArrayLike<number>;
}

/**
 * Variance of the 4-neighbour Laplacian ([[0,1,0],[1,−4,1],[0,1,0]], OpenCV `Laplacian` with ksize 1) of the
 * grayscale image (ITU-R BT.601 weights 0.299/0.587/0.114, as OpenCV's RGB2GRAY), borders reflected without
 * repeating the edge (OpenCV BORDER_REFLECT_101), population variance, float64. Values are on the [0,1] scale:
 * 255² smaller than the usual uint8 figure, which changes no ranking.
 * @throws ShapeError if `data` is not width·height·3 long or a side is < 2 (reflection needs a neighbour)
 */
export function computeLaplacianVariance(img: HwcImage): number {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3 || w < 2 || h < 2) throw new ShapeError('image for sharpness', '[H>=2,W>=2,3]', [h, w, data.length / Math.max(1, w * h)]);
  const gray = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    gray[i] = 0.299 * (data[3 * i] as number) + 0.587 * (data[3 * i + 1] as number) + 0.114 * (data[3 * i + 2] as number);
  }
  const reflect = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const at = (y: number, x: number): number => gray[reflect(y, h) * w + reflect(x, w)] as number;
  // Two passes (mean, then squared deviations) to avoid the cancellation of E[x²] − E[x]².
  const lap = new Float64Array(w * h);
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = at(y - 1, x) + at(y + 1, x) + at(y, x - 1) + at(y, x + 1) - 4 * at(y, x);
      lap[y * w + x] = v;
      sum += v;
    }
  }
  const mean = sum / lap.length;
  let dev = 0;
  for (const v of lap) dev += (v - mean) ** 2;
  return dev / lap.length;
}

/** L2 norm of an embedding, accumulated in float64. */
export function computeEmbeddingNorm(embedding: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < embedding.length; i++) s += (embedding[i] as number) ** 2;
  return Math.sqrt(s);
}

/** The `embedding-norm` baseline: the norm of each image's raw FR embedding. */
export function computeEmbeddingNormQualities(embeddings: ReadonlyMap<string, ArrayLike<number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [p, e] of embeddings) out.set(p, computeEmbeddingNorm(e));
  return out;
}
