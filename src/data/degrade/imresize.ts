/**
 * MATLAB-style `imresize(img, scale, 'bicubic')` with antialiasing (the reference's `imresize_np`), used by the
 * BSRGAN 1/2 pre-step (METHOD §1.4). Keys cubic with a = -0.5; when shrinking the kernel is stretched by 1/scale
 * (antialiasing); output size ceil(size·scale); borders are extended symmetrically (edge sample repeated).
 */
import type { RgbImage } from '../image.js';
import { type TapTable, buildTapTable, resampleSeparable } from './resample.js';

/** `imresize_np(img, scale, antialiasing)`: the same scale on both axes. */
export function imresizeBicubic(img: RgbImage, scale: number, antialiasing = true): RgbImage {
  if (!(scale > 0)) throw new Error(`imresize scale must be positive, got ${scale}`);
  const outW = Math.ceil(img.width * scale);
  const outH = Math.ceil(img.height * scale);
  return resampleSeparable(img, matlabTable(img.width, outW, scale, antialiasing), matlabTable(img.height, outH, scale, antialiasing));
}

/** MATLAB's cubic: 1.5|x|³ - 2.5|x|² + 1 on |x| ≤ 1, -0.5|x|³ + 2.5|x|² - 4|x| + 2 on 1 < |x| ≤ 2. */
export function cubicMatlab(x: number): number {
  const a = Math.abs(x);
  const a2 = a * a;
  const a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

/** Index in [0, n) for a 0-based position outside it, mirrored with the edge sample repeated (MATLAB 'symmetric'). */
export function symmetricIndex(i: number, n: number): number {
  const period = 2 * n;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

function matlabTable(inLen: number, outLen: number, scale: number, antialiasing: boolean): TapTable {
  const stretch = scale < 1 && antialiasing;
  const width = stretch ? 4 / scale : 4;
  const taps = Math.ceil(width) + 2;
  return buildTapTable(outLen, (o) => {
    // 1-based output coordinate x maps to input u so that pixel edges line up (MATLAB's convention).
    const x = o + 1;
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    const raw: [number, number][] = [];
    let sum = 0;
    for (let p = 0; p < taps; p++) {
      const idx = left + p; // 1-based
      const w = stretch ? scale * cubicMatlab((u - idx) * scale) : cubicMatlab(u - idx);
      raw.push([symmetricIndex(idx - 1, inLen), w]);
      sum += w;
    }
    return raw.filter(([, w]) => w !== 0).map(([i, w]) => [i, w / sum] as [number, number]);
  });
}
