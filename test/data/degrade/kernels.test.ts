import { describe, expect, it } from 'vitest';
import { type Kernel2D, anisotropicGaussianKernel, isotropicGaussianKernel, shiftKernel } from '../../../src/data/degrade/kernels.js';
import { drawBlurKernel } from '../../../src/data/degrade/blur.js';
import { eigenSymmetric } from '../../../src/data/degrade/linalg.js';
import { Rng } from '../../../src/util/rng.js';

function sum(k: Kernel2D): number {
  return k.data.reduce((a, b) => a + b, 0);
}

/** Second moments (E[x²], E[xy], E[y²]) and mean (x, y) of a kernel about its centre; x = column, y = row. */
function moments(k: Kernel2D): { xx: number; xy: number; yy: number; mx: number; my: number } {
  const c = (k.size - 1) / 2;
  let xx = 0;
  let xy = 0;
  let yy = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < k.size; i++) {
    for (let j = 0; j < k.size; j++) {
      const v = k.data[i * k.size + j];
      const x = j - c;
      const y = i - c;
      xx += v * x * x;
      xy += v * x * y;
      yy += v * y * y;
      mx += v * x;
      my += v * y;
    }
  }
  return { xx, xy, yy, mx, my };
}

function at(k: Kernel2D, i: number, j: number): number {
  return k.data[i * k.size + j];
}

describe('blur kernels', () => {
  it('isotropic: sums to 1, symmetric under flips and transpose, σ² recovered from the second moment', () => {
    for (const [size, sigma] of [[25, 2], [15, 1.2], [9, 0.8]]) {
      const k = isotropicGaussianKernel(size, sigma);
      expect(sum(k)).toBeCloseTo(1, 12);
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          expect(at(k, i, j)).toBeCloseTo(at(k, size - 1 - i, j), 15);
          expect(at(k, i, j)).toBeCloseTo(at(k, i, size - 1 - j), 15);
          expect(at(k, i, j)).toBeCloseTo(at(k, j, i), 15);
        }
      }
      const m = moments(k);
      expect(Math.sqrt(m.xx)).toBeCloseTo(sigma, 3);
      expect(Math.sqrt(m.yy)).toBeCloseTo(sigma, 3);
      expect(Math.abs(m.xy)).toBeLessThan(1e-12);
    }
  });

  it('isotropic: separable factors reproduce the 2-D kernel', () => {
    const k = isotropicGaussianKernel(11, 1.7);
    const { col, row } = k.separable!;
    for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) expect(col[i] * row[j]).toBeCloseTo(at(k, i, j), 15);
  });

  it('anisotropic: sums to 1, point-symmetric, covariance = V·diag(l1,l2)·V', () => {
    const theta = 0.6;
    const [l1, l2] = [3, 1.2];
    const k = anisotropicGaussianKernel(25, theta, l1, l2);
    expect(sum(k)).toBeCloseTo(1, 12);
    for (let i = 0; i < 25; i++) for (let j = 0; j < 25; j++) expect(at(k, i, j)).toBeCloseTo(at(k, 24 - i, 24 - j), 15);
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    const m = moments(k);
    expect(m.xx).toBeCloseTo(c * c * l1 + s * s * l2, 3);
    expect(m.xy).toBeCloseTo(c * s * (l1 - l2), 3);
    expect(m.yy).toBeCloseTo(s * s * l1 + c * c * l2, 3);
  });

  it('anisotropic with l1 = l2 equals the isotropic kernel of σ² = l1', () => {
    const a = anisotropicGaussianKernel(13, 1.1, 2.25, 2.25);
    const b = isotropicGaussianKernel(13, 1.5);
    for (let i = 0; i < a.data.length; i++) expect(a.data[i]).toBeCloseTo(b.data[i], 14);
  });

  it('shift moves the mass by -(sf-1)/2 and keeps the sum 1; separable and 2-D paths agree', () => {
    for (const sf of [2, 4]) {
      const base = isotropicGaussianKernel(25, 1.3);
      const shifted = shiftKernel(base, sf);
      const shifted2d = shiftKernel({ size: base.size, data: base.data }, sf);
      expect(sum(shifted)).toBeCloseTo(1, 12);
      const m = moments(shifted);
      expect(m.mx).toBeCloseTo(-(sf - 1) / 2, 6);
      expect(m.my).toBeCloseTo(-(sf - 1) / 2, 6);
      for (let i = 0; i < shifted.data.length; i++) expect(shifted.data[i]).toBeCloseTo(shifted2d.data[i], 14);
    }
  });

  it('drawn kernels have sizes 7..25 (odd) and sum to 1', () => {
    const sizes = new Set<number>();
    for (let s = 0; s < 200; s++) {
      const k = drawBlurKernel(new Rng(s), 4);
      sizes.add(k.size);
      expect(k.size % 2).toBe(1);
      expect(sum(k)).toBeCloseTo(1, 10);
    }
    expect(Math.min(...sizes)).toBe(7);
    expect(Math.max(...sizes)).toBe(25);
    expect(sizes.size).toBe(10);
  });
});

describe('eigenSymmetric', () => {
  it('reconstructs a symmetric matrix from descending eigenpairs', () => {
    const rng = new Rng(4);
    const n = 6;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.range(-1, 1);
    const { values, vectors } = eigenSymmetric(a, n);
    for (let k = 1; k < n; k++) expect(values[k]).toBeLessThanOrEqual(values[k - 1]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += values[k] * vectors[k * n + i] * vectors[k * n + j];
        expect(s).toBeCloseTo(a[i * n + j], 10);
      }
    }
  });
});
