/**
 * Checks of the native conv kernels against the float64 reference (conv-reference.ts), dilation included: the
 * forward kernel and both backprop kernels (which take a `dilations` attribute on `native`), and tfjs cpu as a
 * second opinion for the backprop kernels through the equivalent undilated convolution with a zero-stuffed filter
 * (tfjs cpu's own backprop kernels ignore dilation).
 */
import { expect } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { tf } from '../../src/backend/tf.js';
import { dilatedTaps, expectCloseToReference, refConv, refConvBackpropFilter, refConvBackpropInput, refGeometry, refOutShape, zeroStuffedFilter, type RefPad } from './conv-reference.js';

/** One convolution case: input and filter shapes, stride, padding and dilation (both axes). */
export interface RefCase {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: RefPad;
  dilation?: number;
}

/** Host inputs of one check: x, filter and the upstream gradient dy. */
export interface CheckData {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
}

const kernels = (depthwise: boolean) =>
  depthwise
    ? { input: 'DepthwiseConv2dNativeBackpropInput', filter: 'DepthwiseConv2dNativeBackpropFilter' }
    : { input: 'Conv2DBackpropInput', filter: 'Conv2DBackpropFilter' };

/** The output shape the reference computes for `c` (tests size dy with it). */
export function referenceOutShape(c: RefCase, depthwise: boolean): [number, number, number, number] {
  return refOutShape(refGeometry(c.x, c.f, c.stride, c.pad, c.dilation ?? 1, depthwise));
}

/** Runs y = conv(x, w), dx and dw on `backend`, with the filter `w` of shape `f` and dilation `dilation`. */
function runConv(backend: string, c: RefCase, depthwise: boolean, data: CheckData, w: Float32Array, f: readonly number[], dilation: number): Float32Array[] {
  tf.setBackend(backend);
  const d = referenceOutShape(c, depthwise);
  return tf.tidy(() => {
    const x = tf.tensor4d(data.x, c.x);
    const filter = tf.tensor4d(w, f as [number, number, number, number]);
    const dy = tf.tensor4d(data.dy, d);
    const pad = c.pad as 'valid';
    const y = depthwise ? tf.depthwiseConv2d(x, filter, c.stride, pad, 'NHWC', dilation) : tf.conv2d(x, filter, c.stride, pad, 'NHWC', dilation);
    expect(y.shape, 'output shape').toEqual(d);
    const attrs = { strides: c.stride, pad: c.pad, dilations: dilation, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const k = kernels(depthwise);
    const dx = tf.engine().runKernel(k.input, { dy, filter }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
    const dw = tf.engine().runKernel(k.filter, { x, dy }, { ...attrs, filterShape: f } as never) as tf.Tensor;
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

/**
 * Asserts that native conv2d / depthwise conv2d and their input and filter gradients match the float64 reference
 * (relative error < `tol`), without falling back to the cpu kernels (which would ignore dilation).
 */
export function expectNativeConvMatchesReference(c: RefCase, depthwise: boolean, data: CheckData, tol = 1e-5): void {
  const dilation = c.dilation ?? 1;
  const g = refGeometry(c.x, c.f, c.stride, c.pad, dilation, depthwise);
  const before = countCpuFallbacks();
  const [y, dx, dw] = runConv('native', c, depthwise, data, data.w, c.f, dilation) as [Float32Array, Float32Array, Float32Array];
  expect(countCpuFallbacks(), 'native kernels fell back to cpu').toBe(before);
  expectCloseToReference(y, refConv(g, data.x, data.w), `${c.name}: y`, tol);
  expectCloseToReference(dx, refConvBackpropInput(g, data.dy, data.w), `${c.name}: dx`, tol);
  expectCloseToReference(dw, refConvBackpropFilter(g, data.x, data.dy), `${c.name}: dw`, tol);
}

/**
 * Asserts that native's dilated dx and dw match tfjs cpu's undilated backprop kernels on the zero-stuffed filter
 * (the same function), relative error < `tol`.
 */
export function expectNativeDilatedMatchesCpuStuffed(c: RefCase, depthwise: boolean, data: CheckData, tol = 1e-5): void {
  const dilation = c.dilation ?? 1;
  expect(dilation).toBeGreaterThan(1);
  const stuffed = zeroStuffedFilter(data.w, c.f, dilation);
  const [yCpu, dxCpu, dwCpuStuffed] = runConv('cpu', c, depthwise, data, stuffed.values, stuffed.shape, 1) as [Float32Array, Float32Array, Float32Array];
  const [y, dx, dw] = runConv('native', c, depthwise, data, data.w, c.f, dilation) as [Float32Array, Float32Array, Float32Array];
  expectCloseToReference(y, yCpu, `${c.name}: y vs cpu`, tol);
  expectCloseToReference(dx, dxCpu, `${c.name}: dx vs cpu`, tol);
  expectCloseToReference(dw, dilatedTaps(dwCpuStuffed, c.f, dilation), `${c.name}: dw vs cpu`, tol);
}

/** The message tfjs-core's Conv2D and DepthwiseConv2dNative gradients raise for dilations > 1, on every backend. */
export const DILATED_GRADIENT_ERROR = /dilation rates greater than 1 are not yet supported/;
