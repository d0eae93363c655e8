/** Conv2DBackpropFilter on `native`: im2col(x)^T x dY in C++. */
import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Gradient of conv2d with respect to its filter (attrs.filterShape), given inputs.x and inputs.dy. */
export function conv2DBackpropFilter(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = convInfo(x.shape, attrs.filterShape, attrs, false);
  const xv = valuesOf(backend, x);
  const dyv = valuesOf(backend, dy);
  if (info === null || !isNativeConv(info) || xv === null || dyv === null) return runCpuKernel(Conv2DBackpropFilter, args);
  const out = allocOutput(backend, [...attrs.filterShape]);
  loadNativeAddon().conv2dBackpropFilter(xv, dyv, out.values, convGeometry(info));
  return out.info;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'native',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
