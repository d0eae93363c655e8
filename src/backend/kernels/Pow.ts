/**
 * Pow on `native` (float32, any broadcast up to rank 8 after collapsing): computed in double and rounded once, as
 * tfjs cpu's Math.pow does, but multi-threaded and without per-element broadcast index arithmetic. In a UNet step
 * it comes from rsqrt's gradient (x^1.5). Non-float32 inputs fall back.
 */
import { Pow, backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { broadcastStrides, collapseBroadcast } from './elementwise-kernels.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function powKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const av = valuesOf(args.backend, a);
  const bv = valuesOf(args.backend, b);
  if (av === null || bv === null) return runCpuKernel(Pow, args);
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const c = collapseBroadcast(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
  if (c.shape.length > 8) return runCpuKernel(Pow, args);
  const out = allocOutput(args.backend, outShape);
  if (out.values.length > 0) loadNativeAddon().pow(av, bv, out.values, c.shape, c.as, c.bs);
  return out.info;
}

export const powConfig: KernelConfig = {
  kernelName: Pow,
  backendName: 'native',
  kernelFunc: powKernel as unknown as KernelFunc,
};
