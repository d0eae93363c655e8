/** DepthwiseConv2dNativeBackpropFilter on `native` (per-thread partial filters, summed at the end). */
import { DepthwiseConv2dNativeBackpropFilter } from '@tensorflow/tfjs-core';
import type { DepthwiseConv2dNativeBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Gradient of depthwiseConv2d with respect to its filter (attrs.filterShape). */
export function depthwiseConv2dNativeBackpropFilter(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = convInfo(x.shape, attrs.filterShape, attrs, true);
  const xv = valuesOf(backend, x);
  const dyv = valuesOf(backend, dy);
  if (info === null || !isNativeConv(info) || xv === null || dyv === null) {
    return runCpuKernel(DepthwiseConv2dNativeBackpropFilter, args);
  }
  const out = allocOutput(backend, [...attrs.filterShape]);
  loadNativeAddon().depthwiseConv2dBackpropFilter(xv, dyv, out.values, convGeometry(info));
  return out.info;
}

export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as KernelFunc,
};
