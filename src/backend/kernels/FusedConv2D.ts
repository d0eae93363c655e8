/** FusedConv2D on `native`: convolution + bias + activation (tfjs definitions) in one native call. */
import { FusedConv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo, type ConvLikeAttrs } from './conv-info.js';
import {
  allocOutput, convGeometry, epilogueArgs, isNativeConv, runCpuKernel, valuesOf, type KernelArgs,
} from './native-kernel-util.js';

/** conv2d(x, filter) + bias, then the activation; bias/PReLU weights must be per-output-channel or scalar. */
export function fusedConv2D(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as NamedAttrMap;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const info = convInfo(x.shape, filter.shape, attrs as unknown as ConvLikeAttrs, false);
  const xv = valuesOf(backend, x);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || xv === null || wv === null) return runCpuKernel(FusedConv2D, args);
  const ep = epilogueArgs(backend, inputs, attrs, info.outChannels, 4);
  if (ep === null) return runCpuKernel(FusedConv2D, args);
  const out = allocOutput(backend, info.outShape, true); // every output element is written
  loadNativeAddon().fusedConv2d(xv, wv, out.values, convGeometry(info), ep.bias, ep.act, ep.alpha, ep.leaky);
  return out.info;
}

export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'native',
  kernelFunc: fusedConv2D as unknown as KernelFunc,
};
