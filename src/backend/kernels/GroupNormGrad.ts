/** DiffiqaGroupNormGrad on `native`: dx, dgamma, dbeta from dy and the forward's saved mean/rstd. */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { GroupNormGrad, type GroupNormAttrs, type GroupNormGradInputs } from '../kernel-names.js';
import { loadNativeAddon } from '../native-binding.js';
import { groupNormDims } from './GroupNorm.js';
import { allocOutput, valuesOf, type KernelArgs } from './native-kernel-util.js';

function requireValues(backend: KernelArgs['backend'], t: TensorInfo, name: string): Float32Array {
  const v = valuesOf(backend, t);
  if (v === null) throw new Error(`${GroupNormGrad}: ${name} must be a float32 tensor`);
  return v;
}

/** Returns [dx (shape of x), dgamma [C], dbeta [C]]. */
export function groupNormGrad(args: KernelArgs): TensorInfo[] {
  const { backend } = args;
  const { dy, x, gamma, mean, rstd } = args.inputs as GroupNormGradInputs;
  const { groups, epsilon } = args.attrs as unknown as GroupNormAttrs;
  const dims = groupNormDims(x, groups);
  const channels = dims[2] ?? 1;
  const dx = allocOutput(backend, [...x.shape], true); // every element is written
  const dgamma = allocOutput(backend, [channels]);
  const dbeta = allocOutput(backend, [channels]);
  loadNativeAddon().groupNormGrad(
    requireValues(backend, dy, 'dy'), requireValues(backend, x, 'x'), requireValues(backend, gamma, 'gamma'),
    requireValues(backend, mean, 'mean'), requireValues(backend, rstd, 'rstd'),
    dx.values, dgamma.values, dbeta.values, dims, epsilon,
  );
  return [dx.info, dgamma.info, dbeta.info];
}

export const groupNormGradConfig: KernelConfig = {
  kernelName: GroupNormGrad,
  backendName: 'native',
  kernelFunc: groupNormGrad as unknown as KernelFunc,
};
