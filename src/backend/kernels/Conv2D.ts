/** Conv2D on `native`: implicit-GEMM convolution in C++ (NHWC, HWIO filter); other layouts fall back to cpu. */
import { Conv2D } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo, type ConvLikeAttrs } from './conv-info.js';
import { allocOutput, convGeometry, isNativeConv, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Computes the convolution of inputs.x [B,H,W,Cin] with inputs.filter [fH,fW,Cin,Cout]. */
export function conv2D(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const info = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvLikeAttrs, false);
  const xv = valuesOf(backend, x);
  const wv = valuesOf(backend, filter);
  if (info === null || !isNativeConv(info) || xv === null || wv === null) return runCpuKernel(Conv2D, args);
  const out = allocOutput(backend, info.outShape, true); // every output element is written
  loadNativeAddon().conv2d(xv, wv, out.values, convGeometry(info));
  return out.info;
}

export const conv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'native',
  kernelFunc: conv2D as unknown as KernelFunc,
};
