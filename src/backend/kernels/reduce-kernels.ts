/**
 * Sum and Mean on `native`: reductions over one contiguous run of axes (e.g. [1, 2] of NHWC, the last axis, or
 * all axes), viewed as [outer, reduced, inner] and summed in double like tfjs cpu. Other axis sets fall back.
 */
import { Mean, Sum, backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** [outer, reduced, inner] when the (sorted) axes are consecutive, else null. */
export function reductionDims(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return null;
  const sorted = [...axes].sort((p, q) => p - q);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== (sorted[i - 1] as number) + 1) return null;
  const first = sorted[0] as number;
  const last = sorted[sorted.length - 1] as number;
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((p, d) => p * d, 1);
  return [prod(0, first), prod(first, last + 1), prod(last + 1, shape.length)];
}

function reduceKernel(kernelName: typeof Sum | typeof Mean): KernelConfig {
  const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as { axis?: number | number[] | null; keepDims?: boolean };
    const xv = valuesOf(args.backend, x);
    if (xv === null) return runCpuKernel(kernelName, args);
    const axes = util.parseAxisParam(attrs.axis ?? x.shape.map((_, i) => i), x.shape);
    const dims = reductionDims(x.shape, axes);
    if (dims === null) return runCpuKernel(kernelName, args);
    let [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    if (attrs.keepDims === true) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
    const out = allocOutput(args.backend, outShape);
    loadNativeAddon().reduceSum(xv, out.values, dims, kernelName === Mean);
    return out.info;
  };
  return { kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

export const sumConfig: KernelConfig = reduceKernel(Sum);
export const meanConfig: KernelConfig = reduceKernel(Mean);
