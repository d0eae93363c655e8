/**
 * Blur kernels of the BSRGAN degradation (METHOD §1.4, op0/op1 and the op2 Gaussian branch): MATLAB-style
 * `fspecial('gaussian')`, the anisotropic Gaussian with a rotated covariance, and the sub-pixel shift applied
 * before stride-sf subsampling. Kernels are float64, row-major `[size,size]`, normalised to sum 1.
 */

/** A square 2-D kernel; `separable` holds `col`/`row` factors when `data[i*size+j] = col[i]*row[j]`. */
export interface Kernel2D {
  readonly size: number;
  readonly data: Float64Array;
  readonly separable?: { readonly col: Float64Array; readonly row: Float64Array };
}

/**
 * `fspecial('gaussian', size, sigma)`: exp(-(x²+y²)/2σ²) on a centred grid, entries below eps·max zeroed,
 * normalised. The separable factors are the normalised 1-D Gaussians; they differ from `data` only in those
 * zeroed entries (< 2.3e-16 of the peak), which is far below float32 resolution.
 */
export function isotropicGaussianKernel(size: number, sigma: number): Kernel2D {
  const g = gaussian1d(size, sigma);
  const data = new Float64Array(size * size);
  let max = 0;
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) max = Math.max(max, (data[i * size + j] = g[i] * g[j]));
  let sum = 0;
  for (let k = 0; k < data.length; k++) {
    if (data[k] < Number.EPSILON * max) data[k] = 0;
    sum += data[k];
  }
  for (let k = 0; k < data.length; k++) data[k] /= sum;
  const g1 = normalise(g);
  return { size, data, separable: { col: g1, row: g1.slice() } };
}

/**
 * Anisotropic Gaussian: covariance Σ = V·diag(l1,l2)·V⁻¹ with V = [[cosθ, sinθ],[sinθ, -cosθ]]; the density is
 * sampled at offsets (x, y) = (col - c, row - c), c = (size-1)/2, and normalised. l1 = l2 gives an isotropic
 * kernel with variance l1. Eigenvalues are floored at 1e-12 (the reference would raise on a singular Σ).
 */
export function anisotropicGaussianKernel(size: number, theta: number, l1: number, l2: number): Kernel2D {
  const [a, b, d] = inverseCovariance(theta, Math.max(l1, 1e-12), Math.max(l2, 1e-12));
  const c = (size - 1) / 2;
  const data = new Float64Array(size * size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const y = i - c;
    for (let j = 0; j < size; j++) {
      const x = j - c;
      const v = Math.exp(-0.5 * (a * x * x + 2 * b * x * y + d * y * y));
      data[i * size + j] = v;
      sum += v;
    }
  }
  for (let k = 0; k < data.length; k++) data[k] /= sum;
  return { size, data };
}

/**
 * `shift_pixel(k, sf)` then renormalisation: k'(y, x) = bilinear k at (y + s, x + s), s = (sf-1)/2, coordinates
 * clipped to the grid. This aligns the blur with the top-left sample of stride-sf subsampling. Bilinear
 * interpolation is a tensor product, so a separable kernel stays separable.
 */
export function shiftKernel(kernel: Kernel2D, sf: number): Kernel2D {
  const n = kernel.size;
  const shift = (sf - 1) * 0.5;
  if (kernel.separable) {
    const col = normalise(shift1d(kernel.separable.col, shift));
    const row = normalise(shift1d(kernel.separable.row, shift));
    const data = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = col[i] * row[j];
    return { size: n, data, separable: { col, row } };
  }
  const data = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const [i0, i1, fy] = linearTap(i + shift, n);
    for (let j = 0; j < n; j++) {
      const [j0, j1, fx] = linearTap(j + shift, n);
      const k = kernel.data;
      const top = k[i0 * n + j0] * (1 - fx) + k[i0 * n + j1] * fx;
      const bottom = k[i1 * n + j0] * (1 - fx) + k[i1 * n + j1] * fx;
      sum += data[i * n + j] = top * (1 - fy) + bottom * fy;
    }
  }
  for (let k = 0; k < data.length; k++) data[k] /= sum;
  return { size: n, data };
}

/** Unnormalised 1-D Gaussian exp(-t²/2σ²) on t = -(size-1)/2 .. (size-1)/2; σ ≤ 1e-12 gives a unit impulse. */
function gaussian1d(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size);
  const c = (size - 1) / 2;
  for (let i = 0; i < size; i++) {
    const t = i - c;
    g[i] = sigma > 1e-12 ? Math.exp((-t * t) / (2 * sigma * sigma)) : t === 0 ? 1 : 0;
  }
  return g;
}

/** Entries (a, b, d) of Σ⁻¹ = [[a, b],[b, d]] for Σ = V·diag(l1, l2)·V, V the reflection of angle θ. */
function inverseCovariance(theta: number, l1: number, l2: number): [number, number, number] {
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  // V is symmetric and its own inverse, so Σ⁻¹ = V·diag(1/l1, 1/l2)·V.
  const a = (c * c) / l1 + (s * s) / l2;
  const b = (c * s) / l1 - (s * c) / l2;
  const d = (s * s) / l1 + (c * c) / l2;
  return [a, b, d];
}

function shift1d(v: Float64Array, shift: number): Float64Array {
  const n = v.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [i0, i1, f] = linearTap(i + shift, n);
    out[i] = v[i0] * (1 - f) + v[i1] * f;
  }
  return out;
}

/** Taps and fraction of linear interpolation at `pos`, clipped to [0, n-1]. */
function linearTap(pos: number, n: number): [number, number, number] {
  const p = Math.min(Math.max(pos, 0), n - 1);
  const i0 = Math.floor(p);
  const i1 = Math.min(i0 + 1, n - 1);
  return [i0, i1, p - i0];
}

function normalise(v: Float64Array): Float64Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / s;
  return out;
}
