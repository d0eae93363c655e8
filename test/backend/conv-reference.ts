/**
 * An independent float64 reference for 2-D convolution and depthwise convolution (NHWC, filters [fH,fW,inC,outC]
 * and [fH,fW,inC,multiplier]) with strides, dilations and tfjs's padding rules, and for both gradients, written as
 * direct loops over every (output pixel, filter tap, channel) term. The forward pass and the two gradients visit the
 * same terms y[o] += x[i] * w[k], so dx and dw are the exact adjoints by construction; nothing here calls tfjs or
 * shares code with src/backend.
 */
import { expect } from 'vitest';

export type RefPad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Everything the loops need, computed here from the shapes and attributes. */
export interface RefGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  fH: number;
  fW: number;
  /** Depthwise channel multiplier, or 0 for a full convolution. */
  multiplier: number;
  stride: number;
  dilation: number;
  padTop: number;
  padLeft: number;
}

/** Output length and leading pad along one axis (tfjs's rules: 'same' puts the odd pixel at the end). */
function axis(inLen: number, f: number, stride: number, dilation: number, pad: RefPad, dim: 1 | 2): [number, number] {
  const eff = (f - 1) * dilation + 1;
  if (pad === 'same') {
    const out = Math.ceil(inLen / stride);
    const total = Math.max(0, (out - 1) * stride + eff - inLen);
    return [out, Math.floor(total / 2)];
  }
  if (pad === 'valid') return [Math.ceil((inLen - eff + 1) / stride), 0];
  const [before, after] = typeof pad === 'number' ? [pad, pad] : (pad[dim] as [number, number]);
  return [Math.floor((inLen + before + after - eff) / stride) + 1, before];
}

/** The geometry of x [B,H,W,C] with filter `f`; `depthwise` reads f as [fH,fW,inC,multiplier]. */
export function refGeometry(x: readonly number[], f: readonly number[], stride: number, pad: RefPad, dilation: number, depthwise: boolean): RefGeometry {
  const [batch, inH, inW, inC] = x as [number, number, number, number];
  const [fH, fW, fC, fOut] = f as [number, number, number, number];
  expect(fC).toBe(inC);
  const [outH, padTop] = axis(inH, fH, stride, dilation, pad, 1);
  const [outW, padLeft] = axis(inW, fW, stride, dilation, pad, 2);
  return { batch, inH, inW, inC, outH, outW, outC: depthwise ? inC * fOut : fOut, fH, fW, multiplier: depthwise ? fOut : 0, stride, dilation, padTop, padLeft };
}

/** The output shape [B, outH, outW, outC]. */
export function refOutShape(g: RefGeometry): [number, number, number, number] {
  return [g.batch, g.outH, g.outW, g.outC];
}

/** Calls `term(xi, wi, yi)` for every product x[xi] * w[wi] that contributes to y[yi]. */
function forEachTerm(g: RefGeometry, term: (xi: number, wi: number, yi: number) => void): void {
  for (let b = 0; b < g.batch; b++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const yBase = ((b * g.outH + oy) * g.outW + ox) * g.outC;
        for (let kh = 0; kh < g.fH; kh++) {
          const iy = oy * g.stride - g.padTop + kh * g.dilation;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kw = 0; kw < g.fW; kw++) {
            const ix = ox * g.stride - g.padLeft + kw * g.dilation;
            if (ix < 0 || ix >= g.inW) continue;
            const xBase = ((b * g.inH + iy) * g.inW + ix) * g.inC;
            const wBase = (kh * g.fW + kw) * g.inC;
            for (let ci = 0; ci < g.inC; ci++) {
              if (g.multiplier > 0) {
                for (let q = 0; q < g.multiplier; q++) term(xBase + ci, (wBase + ci) * g.multiplier + q, yBase + ci * g.multiplier + q);
              } else {
                for (let co = 0; co < g.outC; co++) term(xBase + ci, (wBase + ci) * g.outC + co, yBase + co);
              }
            }
          }
        }
      }
    }
  }
}

const sizeOf = (g: RefGeometry) => ({
  x: g.batch * g.inH * g.inW * g.inC,
  w: g.fH * g.fW * g.inC * (g.multiplier > 0 ? g.multiplier : g.outC),
  y: g.batch * g.outH * g.outW * g.outC,
});

/** y = conv(x, w). */
export function refConv(g: RefGeometry, x: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const y = new Float64Array(sizeOf(g).y);
  forEachTerm(g, (xi, wi, yi) => (y[yi] = (y[yi] as number) + (x[xi] as number) * (w[wi] as number)));
  return y;
}

/** dL/dx given dy = dL/dy. */
export function refConvBackpropInput(g: RefGeometry, dy: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(sizeOf(g).x);
  forEachTerm(g, (xi, wi, yi) => (dx[xi] = (dx[xi] as number) + (dy[yi] as number) * (w[wi] as number)));
  return dx;
}

/** dL/dw given dy = dL/dy. */
export function refConvBackpropFilter(g: RefGeometry, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dw = new Float64Array(sizeOf(g).w);
  forEachTerm(g, (xi, wi, yi) => (dw[wi] = (dw[wi] as number) + (x[xi] as number) * (dy[yi] as number)));
  return dw;
}

/**
 * The dilated filter written out with zeros between its taps, [(fH-1)d+1, (fW-1)d+1, C, K]: an undilated
 * convolution with it is the dilated convolution, which lets kernels without dilation (tfjs cpu's backprop) serve as
 * a second reference.
 */
export function zeroStuffedFilter(w: ArrayLike<number>, f: readonly number[], dilation: number): { values: Float32Array; shape: [number, number, number, number] } {
  const [fH, fW, c, k] = f as [number, number, number, number];
  const shape: [number, number, number, number] = [(fH - 1) * dilation + 1, (fW - 1) * dilation + 1, c, k];
  const values = new Float32Array(shape[0] * shape[1] * c * k);
  for (let kh = 0; kh < fH; kh++) {
    for (let kw = 0; kw < fW; kw++) {
      for (let j = 0; j < c * k; j++) values[((kh * dilation * shape[1] + kw * dilation) * c * k) + j] = w[(kh * fW + kw) * c * k + j] as number;
    }
  }
  return { values, shape };
}

/** The taps of a gradient with respect to a zero-stuffed filter that belong to the real filter taps. */
export function dilatedTaps(dwStuffed: ArrayLike<number>, f: readonly number[], dilation: number): Float32Array {
  const [fH, fW, c, k] = f as [number, number, number, number];
  const stuffedW = (fW - 1) * dilation + 1;
  const out = new Float32Array(fH * fW * c * k);
  for (let kh = 0; kh < fH; kh++) {
    for (let kw = 0; kw < fW; kw++) {
      for (let j = 0; j < c * k; j++) out[(kh * fW + kw) * c * k + j] = dwStuffed[(kh * dilation * stuffedW + kw * dilation) * c * k + j] as number;
    }
  }
  return out;
}

/** Asserts max|got - ref| / max|ref| < tol, and that the reference is not all zeros. */
export function expectCloseToReference(got: ArrayLike<number>, ref: ArrayLike<number>, what: string, tol = 1e-5): void {
  expect(got.length, what).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (ref[i] as number)));
    scale = Math.max(scale, Math.abs(ref[i] as number));
  }
  expect(scale, `${what}: the reference is all zeros`).toBeGreaterThan(0);
  expect(diff / scale, what).toBeLessThan(tol);
}
