/**
 * The BSRGAN downsampling ops (METHOD §1.4): the optional 1/2 pre-step, op2 (random-factor resize, or a
 * shifted 25x25 Gaussian followed by stride-sf nearest subsampling) and op3 (resize to the op2 input size / sf).
 * Every op clips to [0,1] afterwards, as the reference does.
 */
import type { Rng } from '../../util/rng.js';
import { CHANNELS, type RgbImage, clipImage, createImage } from '../image.js';
import { convolveMirror } from './convolve.js';
import { imresizeBicubic } from './imresize.js';
import { isotropicGaussianKernel, shiftKernel } from './kernels.js';
import { CV_INTERPOLATIONS, resizeCv } from './resize-cv.js';

/** Python's `int(x / f)` size rule, floored at 1 so that a tiny image cannot collapse to zero. */
export function scaledSize(size: number, factor: number): number {
  return Math.max(1, Math.trunc((1 / factor) * size));
}

/** The p=0.25 pre-step for sf=4: halve with cv2 (random mode) or MATLAB bicubic, 50/50. */
export function halveRandom(img: RgbImage, rng: Rng): RgbImage {
  const out =
    rng.uniform() < 0.5
      ? resizeCv(img, scaledSize(img.width, 2), scaledSize(img.height, 2), rng.pick(CV_INTERPOLATIONS))
      : imresizeBicubic(img, 0.5, true);
  return clipImage(out);
}

/** op2: 75% resize by 1/U(1, 2·sf) with a random cv2 mode; 25% shifted Gaussian blur + stride-sf subsampling. */
export function downsampleRandom(img: RgbImage, rng: Rng, sf: number): RgbImage {
  if (rng.uniform() < 0.75) {
    const factor = rng.range(1, 2 * sf);
    const mode = rng.pick(CV_INTERPOLATIONS);
    return clipImage(resizeCv(img, scaledSize(img.width, factor), scaledSize(img.height, factor), mode));
  }
  const kernel = shiftKernel(isotropicGaussianKernel(25, rng.range(0.1, 0.6 * sf)), sf);
  return clipImage(subsampleNearest(convolveMirror(img, kernel), sf));
}

/** op3: resize to `floor(width/sf) x floor(height/sf)` of the size op2 started from, random cv2 mode. */
export function downsampleToTarget(img: RgbImage, rng: Rng, width: number, height: number, sf: number): RgbImage {
  const mode = rng.pick(CV_INTERPOLATIONS);
  return clipImage(resizeCv(img, scaledSize(width, sf), scaledSize(height, sf), mode));
}

/** `img[0::sf, 0::sf]`: keeps every sf-th row and column, starting at the first. */
export function subsampleNearest(img: RgbImage, sf: number): RgbImage {
  const w = Math.ceil(img.width / sf);
  const h = Math.ceil(img.height / sf);
  const out = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * sf * img.width + x * sf) * CHANNELS;
      const d = (y * w + x) * CHANNELS;
      out.data[d] = img.data[s];
      out.data[d + 1] = img.data[s + 1];
      out.data[d + 2] = img.data[s + 2];
    }
  }
  return out;
}
