/** Conv2DBackpropInput on `native`: dY x W^T then a race-free col2im gather, in C++. */
import { Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Gradient of conv2d with respect to its input (attrs.inputShape), given inputs.dy and inputs.filter. */
export function conv2DBackpropInput(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const info = convInfo(attrs.inputShape, filter.shape, attrs, false);
  const dyv = valuesOf(backend, dy);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || dyv === null || wv === null) return runCpuKernel(Conv2DBackpropInput, args);
  const out = allocOutput(backend, info.inShape);
  loadNativeAddon().conv2dBackpropInput(dyv, wv, out.values, convGeometry(info));
  return out.info;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'native',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
