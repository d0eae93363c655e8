import { describe, expect, it } from 'vitest';
import {
  KERNEL_TOLERANCE,
  convolveDirect,
  convolveMirror,
  lowRankTerms,
  mirrorIndex,
} from '../../../src/data/degrade/convolve.js';
import { type Kernel2D, anisotropicGaussianKernel, isotropicGaussianKernel, shiftKernel } from '../../../src/data/degrade/kernels.js';
import type { RgbImage } from '../../../src/data/image.js';
import { constantImage, maxAbsDiff, randomImage } from './helpers.js';

/** scipy.ndimage.convolve(mode='mirror') written out in float64: out(y,x) = Σ k(i,j)·in(y+r-i, x+r-j). */
function convolveReference(img: RgbImage, k: Kernel2D): Float64Array {
  const { width: w, height: h } = img;
  const n = k.size;
  const r = (n - 1) / 2;
  const mirror = (i: number, len: number): number => {
    while (i < 0 || i >= len) i = i < 0 ? -i : 2 * (len - 1) - i;
    return i;
  };
  const out = new Float64Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) s += k.data[i * n + j] * img.data[(mirror(y + r - i, h) * w + mirror(x + r - j, w)) * 3 + c];
        }
        out[(y * w + x) * 3 + c] = s;
      }
    }
  }
  return out;
}

describe('mirror convolution', () => {
  it('mirrorIndex reflects without repeating the edge sample', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => mirrorIndex(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
    expect(mirrorIndex(-7, 1)).toBe(0);
  });

  const img = randomImage(23, 19, 7);
  const kernels: [string, Kernel2D][] = [
    ['isotropic 9 (separable path)', isotropicGaussianKernel(9, 1.4)],
    ['anisotropic mild (SVD path)', anisotropicGaussianKernel(15, 0.4, 5, 3)],
    ['anisotropic thin diagonal', anisotropicGaussianKernel(25, Math.PI / 4, 7.5, 0.2)],
    ['shifted 25, sf=4 (asymmetric)', shiftKernel(isotropicGaussianKernel(25, 1.5), 4)],
    ['shifted 2-D kernel without factors', shiftKernel(anisotropicGaussianKernel(11, 1, 3, 1), 2)],
  ];

  it.each(kernels)('%s matches a float64 direct loop', (_name, k) => {
    expect(maxAbsDiff(convolveMirror(img, k).data, convolveReference(img, k))).toBeLessThan(KERNEL_TOLERANCE + 1e-6);
  });

  it('the direct path with every tap matches the reference to float32 precision', () => {
    const k = anisotropicGaussianKernel(7, 2, 2, 0.5);
    const taps = [];
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) taps.push({ i, j, v: k.data[i * 7 + j] });
    expect(maxAbsDiff(convolveDirect(img, k, taps).data, convolveReference(img, k))).toBeLessThan(1e-6);
  });

  it('a truncated SVD stays within the tolerance in L1 and uses few terms for a mild kernel', () => {
    const k = anisotropicGaussianKernel(21, 0.3, 4, 2);
    const terms = lowRankTerms(k)!;
    expect(terms.length).toBeLessThan(8);
    let err = 0;
    for (let i = 0; i < 21; i++) {
      for (let j = 0; j < 21; j++) {
        let s = 0;
        for (const t of terms) s += t.col[i] * t.row[j];
        err += Math.abs(s - k.data[i * 21 + j]);
      }
    }
    expect(err).toBeLessThanOrEqual(KERNEL_TOLERANCE);
  });

  it('keeps a constant image constant', () => {
    const out = convolveMirror(constantImage(30, 30, 0.25), anisotropicGaussianKernel(25, 1, 6, 0.5));
    expect(maxAbsDiff(out.data, new Float32Array(30 * 30 * 3).fill(0.25))).toBeLessThan(1e-5);
  });
});
