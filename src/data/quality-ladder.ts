/**
 * A monotone "quality ladder": the same face degraded at increasing, fixed severities. The BSRGAN chain draws
 * its strengths at random (right for training); measuring whether a quality score falls with damage needs the
 * damage ordered, so each rung here compounds fixed-strength versions of the same four ops (blur, down/up
 * sampling, sensor noise, JPEG), each stronger than on the rung below. Used by the demo, the labeller sanity
 * check and reports.
 */
import * as path from 'node:path';
import { ensureDir } from '../util/atomic.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { decodeImage, writeImage } from './image-io.js';
import { clipImage, cloneImage, type RgbImage } from './image.js';
import { convolveMirror } from './degrade/convolve.js';
import { jpegRoundTrip } from './degrade/jpeg.js';
import { isotropicGaussianKernel } from './degrade/kernels.js';
import { addColorNoise } from './degrade/noise.js';
import { resizeCv } from './degrade/resize-cv.js';

/** One rung's op strengths. */
export interface Severity {
  /** Gaussian blur σ in pixels (0 = none). */
  blurSigma: number;
  /** Downsample factor before resizing back (1 = none). */
  downscale: number;
  /** Noise σ on the [0,1] scale (0 = none). */
  noiseSigma: number;
  /** JPEG quality (null = no JPEG pass). */
  jpegQuality: number | null;
}

/** Rung 0 is the untouched image; rungs 1-4 get stronger in every op. */
export const LADDER: readonly Severity[] = [
  { blurSigma: 0, downscale: 1, noiseSigma: 0, jpegQuality: null },
  { blurSigma: 0.8, downscale: 1.5, noiseSigma: 3 / 255, jpegQuality: 80 },
  { blurSigma: 1.5, downscale: 2, noiseSigma: 6 / 255, jpegQuality: 60 },
  { blurSigma: 2.5, downscale: 3, noiseSigma: 10 / 255, jpegQuality: 40 },
  { blurSigma: 3.5, downscale: 4, noiseSigma: 15 / 255, jpegQuality: 25 },
];

/**
 * Degrades `img` at ladder rung `level` (0..LADDER.length-1); noise draws come from `rng`. Returns a new image of
 * the same size, clipped to [0,1].
 */
export async function degradeAtSeverity(img: RgbImage, level: number, rng: Rng): Promise<RgbImage> {
  const sev = LADDER[level];
  if (!sev) throw new RangeError(`severity level must be 0..${LADDER.length - 1}, got ${level}`);
  let out = cloneImage(img);
  if (sev.blurSigma > 0) {
    const size = 2 * Math.ceil(3 * sev.blurSigma) + 1;
    out = convolveMirror(out, isotropicGaussianKernel(size, sev.blurSigma));
  }
  if (sev.downscale > 1) {
    const w = Math.max(1, Math.round(img.width / sev.downscale));
    const h = Math.max(1, Math.round(img.height / sev.downscale));
    out = resizeCv(resizeCv(out, w, h, 'area'), img.width, img.height, 'linear');
  }
  if (sev.noiseSigma > 0) addColorNoise(out, sev.noiseSigma, rng);
  out = clipImage(out);
  if (sev.jpegQuality !== null) out = await jpegRoundTrip(out, sev.jpegQuality);
  return out;
}

/**
 * Writes `<dir>/<face name>/rung<k>.png` for every face file and rung (rung 0 = the face itself, decoded at
 * 112x112), each rung seeded by the face name and rung, so the ladder is the same on every run.
 * @returns the folder of each face's rungs
 */
export async function writeLadder(faces: readonly string[], dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const face of faces) {
    const id = path.basename(face, path.extname(face));
    const img = await decodeImage(face);
    const faceDir = path.join(dir, id);
    ensureDir(faceDir);
    for (let k = 0; k < LADDER.length; k++) {
      const rung = await degradeAtSeverity(img, k, new Rng(deriveSeed('ladder', `${id}/${k}`)));
      await writeImage(path.join(faceDir, `rung${k}.png`), rung);
    }
    out.push(faceDir);
  }
  return out;
}
