/** DepthwiseConv2dNative on `native`: direct, channel-vectorised depthwise convolution in C++. */
import { DepthwiseConv2dNative } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo, type ConvLikeAttrs } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Depthwise convolution of inputs.x [B,H,W,C] with inputs.filter [fH,fW,C,multiplier] (NHWC, like tfjs cpu). */
export function depthwiseConv2dNative(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const attrs = { ...(args.attrs as unknown as ConvLikeAttrs), dataFormat: 'NHWC' as const };
  const info = convInfo(x.shape, filter.shape, attrs, true);
  const xv = valuesOf(backend, x);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || xv === null || wv === null) return runCpuKernel(DepthwiseConv2dNative, args);
  const out = allocOutput(backend, info.outShape, true); // every output element is written
  loadNativeAddon().depthwiseConv2d(xv, wv, out.values, convGeometry(info));
  return out.info;
}

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: 'native',
  kernelFunc: depthwiseConv2dNative as unknown as KernelFunc,
};
