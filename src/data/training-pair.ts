/**
 * One training sample of the DifFIQA diffusion model (METHOD §1.4): a source image, flipped with p = 0.5, gives
 * the HQ target (resized to the training size) and the LQ input (the BSRGAN chain). Everything random comes
 * from the `Rng` passed in, so a sample is a pure function of (file, rng seed).
 */
import { readFile } from 'node:fs/promises';
import type { Rng } from '../util/rng.js';
import { DataError, describeError } from '../util/errors.js';
import { degradeChain } from './degrade/bsrgan.js';
import { type RgbImage, flipHorizontal } from './image.js';
import { decodeImage } from './image-io.js';

/** An HQ/LQ pair, both `[H,W,3]` in [0,1]. */
export interface TrainingPair {
  hq: RgbImage;
  lq: RgbImage;
}

/** Options of `loadTrainingPair`. */
export interface TrainingPairOptions {
  width: number;
  height: number;
  /** Horizontal flip probability; default 0.5 (METHOD §1.5). */
  flipProb?: number;
  /** Longest side kept when decoding the LQ source (larger images are shrunk first); default 1024. */
  maxSourceSide?: number;
  /** Smallest accepted image side; default 8. */
  minSide?: number;
}

/**
 * Decodes `path` once into bytes, then builds the pair. The HQ side is decoded straight to the target size
 * (sharp, linear, no crop). The LQ side starts from the source at its own size (the reference's cv2 resize to
 * 512 sees the original pixels); sources above `maxSourceSide` are shrunk by sharp first, which bounds memory
 * and departs from the reference only for such large files (it antialiases where cv2 would alias).
 * @throws DataError when the file cannot be read or decoded
 */
export async function loadTrainingPair(path: string, rng: Rng, options: TrainingPairOptions): Promise<TrainingPair> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new DataError(path, `cannot read file: ${describeError(err)}`);
  }
  const minSide = options.minSide ?? 8;
  const [hq0, src0] = await Promise.all([
    decodeImage(bytes, { size: { width: options.width, height: options.height }, minSide }, path),
    decodeImage(bytes, { size: 'native', maxSide: options.maxSourceSide ?? 1024, minSide }, path),
  ]);
  const flip = rng.chance(options.flipProb ?? 0.5);
  const hq = flip ? flipHorizontal(hq0) : hq0;
  const src = flip ? flipHorizontal(src0) : src0;
  const lq = await degradeChain(src, rng, options.width, options.height);
  return { hq, lq };
}
