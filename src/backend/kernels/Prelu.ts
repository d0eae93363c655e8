/**
 * Prelu on `native` (float32, alpha one value or a vector along the last axis, as PReLU layers use): one
 * multi-threaded pass instead of tfjs cpu's per-element broadcast indexing. Other alpha shapes fall back.
 */
import { Prelu } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, isChannelVector, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function preluKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x, alpha } = args.inputs as { x: TensorInfo; alpha: TensorInfo };
  const xv = valuesOf(args.backend, x);
  const av = valuesOf(args.backend, alpha);
  const cols = x.shape[x.shape.length - 1];
  if (xv === null || av === null || cols === undefined || av.length === 0 || !isChannelVector(alpha, cols, x.shape.length)) {
    return runCpuKernel(Prelu, args);
  }
  const out = allocOutput(args.backend, [...x.shape]);
  if (xv.length > 0) loadNativeAddon().prelu(xv, av, out.values);
  return out.info;
}

export const preluConfig: KernelConfig = {
  kernelName: Prelu,
  backendName: 'native',
  kernelFunc: preluKernel as unknown as KernelFunc,
};
