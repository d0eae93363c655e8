/**
 * Additive Gaussian noise of the BSRGAN degradation (METHOD §1.4 op4, reference `add_Gaussian_noise`):
 * level σ = U{2..25}/255; 40% independent per-channel noise, 40% one grey noise plane shared by the channels,
 * 20% channel-correlated noise with covariance |L²·UᵀDU| (L = 25/255, D = diag(U[0,1)³), U an orthonormal basis
 * of a uniform random 3x3 matrix). The result is clipped to [0,1].
 */
import type { Rng } from '../../util/rng.js';
import { type RgbImage, clipImage, cloneImage } from '../image.js';
import { eigenSymmetric } from './linalg.js';
import { createNormalStream } from './normal-stream.js';

/** Which of the three noise kinds was drawn. */
export type NoiseKind = 'color' | 'gray' | 'correlated';

/** Adds `sigma`-std independent noise to every channel of every pixel (no clipping). */
export function addColorNoise(img: RgbImage, sigma: number, rng: Rng): void {
  const d = img.data;
  const z = createNormalStream(rng);
  for (let i = 0; i < d.length; i++) d[i] += sigma * z.next();
}

/** Adds one `sigma`-std noise value per pixel to all three channels (no clipping). */
export function addGrayNoise(img: RgbImage, sigma: number, rng: Rng): void {
  const d = img.data;
  const z = createNormalStream(rng);
  for (let i = 0; i < d.length; i += 3) {
    const n = sigma * z.next();
    d[i] += n;
    d[i + 1] += n;
    d[i + 2] += n;
  }
}

/**
 * Adds zero-mean noise with the given 3x3 covariance (row-major) to every pixel (no clipping). Like numpy's
 * `multivariate_normal` (which factors through an SVD), a covariance that is not positive semi-definite is used
 * through the absolute values of its eigenvalues.
 */
export function addCorrelatedNoise(img: RgbImage, cov: Float64Array, rng: Rng): void {
  const { values, vectors } = eigenSymmetric(cov, 3);
  // x = Σ_k sqrt|λ_k|·z_k·e_k; m[c*3+k] = sqrt|λ_k|·e_k[c].
  const m = new Float64Array(9);
  for (let k = 0; k < 3; k++) {
    const s = Math.sqrt(Math.abs(values[k]));
    for (let c = 0; c < 3; c++) m[c * 3 + k] = s * vectors[k * 3 + c];
  }
  const d = img.data;
  const z = createNormalStream(rng);
  for (let i = 0; i < d.length; i += 3) {
    const z0 = z.next();
    const z1 = z.next();
    const z2 = z.next();
    d[i] += m[0] * z0 + m[1] * z1 + m[2] * z2;
    d[i + 1] += m[3] * z0 + m[4] * z1 + m[5] * z2;
    d[i + 2] += m[6] * z0 + m[7] * z1 + m[8] * z2;
  }
}

/** The reference's random covariance |L²·UᵀDU|, U = orth(uniform 3x3) (its left singular vectors). */
export function drawCorrelatedCovariance(level: number, rng: Rng): Float64Array {
  const dDiag = [rng.uniform(), rng.uniform(), rng.uniform()];
  const a = new Float64Array(9);
  for (let i = 0; i < 9; i++) a[i] = rng.uniform();
  const aat = new Float64Array(9);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) aat[i * 3 + j] = a[i * 3] * a[j * 3] + a[i * 3 + 1] * a[j * 3 + 1] + a[i * 3 + 2] * a[j * 3 + 2];
  }
  // Columns of U = eigenvectors of AAᵀ, descending, as numpy's SVD orders them; U[r][k] = vectors[k*3 + r].
  const { vectors } = eigenSymmetric(aat, 3);
  const cov = new Float64Array(9);
  const l2 = level * level;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += vectors[i * 3 + k] * dDiag[k] * vectors[j * 3 + k];
      cov[i * 3 + j] = Math.abs(l2 * s);
    }
  }
  return cov;
}

/** BSRGAN op4: draws level and kind, adds the noise to a copy, clips to [0,1]. */
export function addGaussianNoise(img: RgbImage, rng: Rng, minLevel = 2, maxLevel = 25): { image: RgbImage; kind: NoiseKind; sigma: number } {
  const sigma = rng.int(minLevel, maxLevel) / 255;
  const r = rng.uniform();
  const out = cloneImage(img);
  let kind: NoiseKind;
  if (r > 0.6) {
    kind = 'color';
    addColorNoise(out, sigma, rng);
  } else if (r < 0.4) {
    kind = 'gray';
    addGrayNoise(out, sigma, rng);
  } else {
    kind = 'correlated';
    addCorrelatedNoise(out, drawCorrelatedCovariance(maxLevel / 255, rng), rng);
  }
  return { image: clipImage(out), kind, sigma };
}
