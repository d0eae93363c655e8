/** FusedDepthwiseConv2D on `native`: depthwise convolution + bias + activation in one native call. */
import { FusedDepthwiseConv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo, type ConvLikeAttrs } from './conv-info.js';
import {
  allocOutput, convGeometry, epilogueArgs, isNativeConv, runCpuKernel, valuesOf, type KernelArgs,
} from './native-kernel-util.js';

/** depthwiseConv2d(x, filter) + bias, then the activation (NHWC, like tfjs cpu). */
export function fusedDepthwiseConv2D(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as NamedAttrMap;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const convAttrs = { ...(attrs as unknown as ConvLikeAttrs), dataFormat: 'NHWC' as const };
  const info = convInfo(x.shape, filter.shape, convAttrs, true);
  const xv = valuesOf(backend, x);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || xv === null || wv === null) return runCpuKernel(FusedDepthwiseConv2D, args);
  const ep = epilogueArgs(backend, inputs, attrs, info.outChannels, 4);
  if (ep === null) return runCpuKernel(FusedDepthwiseConv2D, args);
  const out = allocOutput(backend, info.outShape, true); // every output element is written
  loadNativeAddon().fusedDepthwiseConv2d(xv, wv, out.values, convGeometry(info), ep.bias, ep.act, ep.alpha, ep.leaky);
  return out.info;
}

export const fusedDepthwiseConv2DConfig: KernelConfig = {
  kernelName: FusedDepthwiseConv2D,
  backendName: 'native',
  kernelFunc: fusedDepthwiseConv2D as unknown as KernelFunc,
};
