/** DepthwiseConv2dNativeBackpropInput on `native` (gather form: each input row is one independent task). */
import { DepthwiseConv2dNativeBackpropInput } from '@tensorflow/tfjs-core';
import type { DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Gradient of depthwiseConv2d with respect to its input (attrs.inputShape). */
export function depthwiseConv2dNativeBackpropInput(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const info = convInfo(attrs.inputShape, filter.shape, attrs, true);
  const dyv = valuesOf(backend, dy);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || dyv === null || wv === null) {
    return runCpuKernel(DepthwiseConv2dNativeBackpropInput, args);
  }
  const out = allocOutput(backend, info.inShape);
  loadNativeAddon().depthwiseConv2dBackpropInput(dyv, wv, out.values, convGeometry(info));
  return out.info;
}

export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as KernelFunc,
};
