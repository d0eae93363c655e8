import { describe, expect, it } from 'vitest';
import {
  addColorNoise,
  addCorrelatedNoise,
  addGaussianNoise,
  addGrayNoise,
  drawCorrelatedCovariance,
} from '../../../src/data/degrade/noise.js';
import { Rng } from '../../../src/util/rng.js';
import { constantImage } from './helpers.js';

/** 3x3 sample covariance of the per-pixel deviation from `mean`. */
function sampleCovariance(data: Float32Array, mean: number): number[] {
  const cov = new Array<number>(9).fill(0);
  const n = data.length / 3;
  for (let p = 0; p < n; p++) {
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) cov[a * 3 + b] += (data[p * 3 + a] - mean) * (data[p * 3 + b] - mean);
  }
  return cov.map((v) => v / n);
}

describe('Gaussian noise', () => {
  it('colour noise: per-channel std within 10% of the level, channels uncorrelated', () => {
    for (const level of [2, 10, 25]) {
      const img = constantImage(128, 128, 0.5);
      addColorNoise(img, level / 255, new Rng(level));
      const cov = sampleCovariance(img.data, 0.5);
      for (const c of [0, 4, 8]) expect(Math.abs(Math.sqrt(cov[c]) * 255 - level) / level).toBeLessThan(0.1);
      expect(Math.abs(cov[1]) / cov[0]).toBeLessThan(0.05);
    }
  });

  it('grey noise: one value shared by the three channels, std within 10%', () => {
    const img = constantImage(128, 128, 0.5);
    addGrayNoise(img, 12 / 255, new Rng(3));
    let mismatches = 0;
    for (let i = 0; i < img.data.length; i += 3) {
      if (img.data[i + 1] !== img.data[i] || img.data[i + 2] !== img.data[i]) mismatches++;
    }
    expect(mismatches).toBe(0);
    const cov = sampleCovariance(img.data, 0.5);
    expect(Math.abs(Math.sqrt(cov[0]) * 255 - 12) / 12).toBeLessThan(0.1);
  });

  it('correlated noise reproduces the requested covariance', () => {
    const cov = drawCorrelatedCovariance(25 / 255, new Rng(11));
    // |L²·UᵀDU| is symmetric with entries bounded by L² (U orthonormal, D in [0,1)).
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        expect(cov[a * 3 + b]).toBe(cov[b * 3 + a]);
        expect(cov[a * 3 + b]).toBeLessThanOrEqual((25 / 255) ** 2 + 1e-15);
        expect(cov[a * 3 + b]).toBeGreaterThanOrEqual(0);
      }
    }
    // A positive-definite target, so the sample covariance must match it entry by entry.
    const target = Float64Array.from([4, 1, 0.5, 1, 3, -0.8, 0.5, -0.8, 2].map((v) => v * 1e-3));
    const img = constantImage(160, 160, 0.5);
    addCorrelatedNoise(img, target, new Rng(12));
    const got = sampleCovariance(img.data, 0.5);
    for (let i = 0; i < 9; i++) expect(Math.abs(got[i] - target[i])).toBeLessThan(0.1 * target[0]);
  });

  it('op4 clips to [0,1], draws levels 2..25, and kinds near 40/40/20', () => {
    const counts = { color: 0, gray: 0, correlated: 0 };
    const levels = new Set<number>();
    const rng = new Rng(5);
    let outside = 0;
    for (let k = 0; k < 1000; k++) {
      const { image, kind, sigma } = addGaussianNoise(constantImage(4, 4, 0.98), rng);
      counts[kind]++;
      levels.add(Math.round(sigma * 255));
      for (const v of image.data) if (v < 0 || v > 1) outside++;
    }
    expect(outside).toBe(0);
    expect(Math.min(...levels)).toBe(2);
    expect(Math.max(...levels)).toBe(25);
    expect(counts.color / 1000).toBeGreaterThan(0.35);
    expect(counts.color / 1000).toBeLessThan(0.45);
    expect(counts.gray / 1000).toBeGreaterThan(0.35);
    expect(counts.gray / 1000).toBeLessThan(0.45);
    expect(counts.correlated / 1000).toBeGreaterThan(0.16);
    expect(counts.correlated / 1000).toBeLessThan(0.24);
  });
});
