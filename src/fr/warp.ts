/**
 * Affine warp of an RGB image with bilinear sampling: out(x,y) = in(T^-1(x,y)), OpenCV warpAffine semantics
 * (pixel centres at integer coordinates, constant 0 outside the image), as the ArcFace alignment uses.
 */
import type { RgbImage } from '../data/image.js';
import { applySimilarity, invertSimilarity, type Similarity } from './similarity.js';

/** Samples `img` at (x, y) bilinearly into out[o..o+2]; 0 contributions outside the image. */
function sampleBilinear(img: RgbImage, x: number, y: number, out: Float32Array, o: number): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const w = img.width;
  const h = img.height;
  let r = 0, g = 0, b = 0;
  for (let k = 0; k < 4; k++) {
    const xi = x0 + (k & 1);
    const yi = y0 + (k >> 1);
    if (xi < 0 || yi < 0 || xi >= w || yi >= h) continue;
    const wt = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
    const s = (yi * w + xi) * 3;
    r += wt * (img.data[s] as number);
    g += wt * (img.data[s + 1] as number);
    b += wt * (img.data[s + 2] as number);
  }
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
}

/**
 * Warps `img` by the similarity `t` (source -> output coordinates) into a `size` x `size` image.
 * @returns RGB float32 HWC in the input's range
 */
export function warpSimilarity(img: RgbImage, t: Similarity, size = 112): RgbImage {
  const inv = invertSimilarity(t);
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [sx, sy] = applySimilarity(inv, [x, y]);
      sampleBilinear(img, sx, sy, data, (y * size + x) * 3);
    }
  }
  return { width: size, height: size, data };
}
