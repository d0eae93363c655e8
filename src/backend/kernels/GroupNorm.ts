/** DiffiqaGroupNorm on `native`: two streaming passes (double-precision channel sums, then an affine sweep). */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { GroupNorm, type GroupNormAttrs, type GroupNormInputs } from '../kernel-names.js';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** [batch, pixels, channels, groups] of an NHWC (or any [B, ..., C]) tensor. */
export function groupNormDims(x: TensorInfo, groups: number): number[] {
  const shape = x.shape;
  const batch = shape[0] ?? 1;
  const channels = shape[shape.length - 1] ?? 1;
  const pixels = shape.slice(1, -1).reduce((p, d) => p * d, 1);
  return [batch, pixels, channels, groups];
}

function requireValues(backend: KernelArgs['backend'], t: TensorInfo, name: string): Float32Array {
  const v = valuesOf(backend, t);
  if (v === null) throw new Error(`${GroupNorm}: ${name} must be a float32 tensor`);
  return v;
}

/** y = (x - mean) / sqrt(var + eps) * gamma + beta per (batch, group); also returns mean and rstd. */
export function groupNorm(args: KernelArgs): TensorInfo[] {
  const { backend } = args;
  const { x, gamma, beta } = args.inputs as GroupNormInputs;
  const { groups, epsilon } = args.attrs as unknown as GroupNormAttrs;
  const dims = groupNormDims(x, groups);
  const y = allocOutput(backend, [...x.shape], true); // every element is written
  const mean = allocOutput(backend, [dims[0] ?? 1, groups]);
  const rstd = allocOutput(backend, [dims[0] ?? 1, groups]);
  loadNativeAddon().groupNorm(
    requireValues(backend, x, 'x'), requireValues(backend, gamma, 'gamma'), requireValues(backend, beta, 'beta'),
    y.values, mean.values, rstd.values, dims, epsilon,
  );
  return [y.info, mean.info, rstd.info];
}

export const groupNormConfig: KernelConfig = {
  kernelName: GroupNorm,
  backendName: 'native',
  kernelFunc: groupNorm as unknown as KernelFunc,
};
