/**
 * The BSRGAN blur op (METHOD §1.4 op0/op1, reference `add_blur`): half the time an anisotropic Gaussian
 * (θ ~ U[0,π), eigenvalues ~ U[0, 4+sf)), otherwise an isotropic one (σ ~ U[0, 2+0.2·sf)); size 2·U{2..11}+3.
 */
import type { Rng } from '../../util/rng.js';
import type { RgbImage } from '../image.js';
import { convolveMirror } from './convolve.js';
import { type Kernel2D, anisotropicGaussianKernel, isotropicGaussianKernel } from './kernels.js';

/** Draws one blur kernel with the reference's distribution (draw order: l1, l2, size, θ | size, σ). */
export function drawBlurKernel(rng: Rng, sf: number): Kernel2D {
  const eigenMax = 4 + sf;
  const sigmaMax = 2 + 0.2 * sf;
  if (rng.uniform() < 0.5) {
    const l1 = eigenMax * rng.uniform();
    const l2 = eigenMax * rng.uniform();
    const size = 2 * rng.int(2, 11) + 3;
    const theta = rng.uniform() * Math.PI;
    return anisotropicGaussianKernel(size, theta, l1, l2);
  }
  const size = 2 * rng.int(2, 11) + 3;
  return isotropicGaussianKernel(size, sigmaMax * rng.uniform());
}

/** Blurs with a freshly drawn kernel, mirror boundary. Kernels sum to 1, so no clipping is needed. */
export function addBlur(img: RgbImage, rng: Rng, sf: number): RgbImage {
  return convolveMirror(img, drawBlurKernel(rng, sf));
}
