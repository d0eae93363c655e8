/**
 * Registers the `native` backend when the addon loads: every cpu kernel is copied, then the overrides below
 * replace the heavy ones (STYLE.md §2.6). Gradients are keyed by kernel name, so replaced forward kernels keep
 * tfjs's gradients; the fused GroupNorm kernel brings its own GradConfig, and Prelu's gradient is wrapped to run
 * one native PreluGrad kernel on `native` (src/backend/gradients/prelu-grad.ts).
 */
import {
  copyRegisteredKernels, findBackendFactory, getGradient, getKernel, Prelu, registerBackend, registerGradient, registerKernel,
  Sum, unregisterKernel,
} from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { describeError } from '../util/errors.js';
import { groupNormGradConfig } from './gradients/group-norm-grad.js';
import { nativePreluGradConfig } from './gradients/prelu-grad.js';
import { nativeSumGradConfig } from './gradients/sum-grad.js';
import { UNET_OP_GRADIENTS } from './gradients/unet-ops-grad.js';
import { batchMatMulConfig } from './kernels/BatchMatMul.js';
import { conv2DConfig } from './kernels/Conv2D.js';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput.js';
import { depthwiseConv2dNativeConfig } from './kernels/DepthwiseConv2dNative.js';
import { depthwiseConv2dNativeBackpropFilterConfig } from './kernels/DepthwiseConv2dNativeBackpropFilter.js';
import { depthwiseConv2dNativeBackpropInputConfig } from './kernels/DepthwiseConv2dNativeBackpropInput.js';
import { concatConv2DConfig } from './kernels/ConcatConv2D.js';
import { fusedConv2DConfig } from './kernels/FusedConv2D.js';
import { fusedDepthwiseConv2DConfig } from './kernels/FusedDepthwiseConv2D.js';
import { groupNormConfig } from './kernels/GroupNorm.js';
import { groupNormGradConfig as groupNormGradKernelConfig } from './kernels/GroupNormGrad.js';
import { preluGradConfig } from './kernels/Prelu.js';
import { fusedMatMulConfig } from './kernels/_FusedMatMul.js';
import { UNET_OP_KERNELS } from './kernels/UnetOps.js';
import { DATA_MOVEMENT_KERNELS } from './kernels/data-movement-kernels.js';
import { adamUpdateConfig, BINARY_KERNELS, clipByValueConfig, UNARY_KERNELS } from './kernels/elementwise-kernels.js';
import { meanConfig, sumConfig } from './kernels/reduce-kernels.js';
import { loadNativeAddon } from './native-binding.js';
import { NativeBackend } from './native-backend.js';

/** Name of the backend registered here. */
export const NATIVE_BACKEND = 'native';

/** Native kernel overrides (and new fused kernels), in registration order. */
export const NATIVE_KERNELS: readonly KernelConfig[] = [
  conv2DConfig,
  fusedConv2DConfig,
  concatConv2DConfig,
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  depthwiseConv2dNativeConfig,
  fusedDepthwiseConv2DConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  groupNormConfig,
  groupNormGradKernelConfig,
  preluGradConfig,
  adamUpdateConfig,
  clipByValueConfig,
  ...BINARY_KERNELS,
  ...UNARY_KERNELS,
  sumConfig,
  meanConfig,
  ...DATA_MOVEMENT_KERNELS,
  ...UNET_OP_KERNELS,
];

let unavailable: string | undefined;

/**
 * Registers `native` (priority 0, below cpu, so plain tfjs code keeps cpu unless initBackend selects native).
 * Returns false, remembering why, when the addon cannot be loaded.
 */
export function registerNativeBackend(): boolean {
  if (findBackendFactory(NATIVE_BACKEND) !== null) return true;
  try {
    loadNativeAddon();
  } catch (err) {
    unavailable = describeError(err);
    return false;
  }
  registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 0);
  copyRegisteredKernels('cpu', NATIVE_BACKEND);
  for (const config of NATIVE_KERNELS) {
    // Replace the copied cpu kernel quietly (registerKernel warns on duplicates).
    if (getKernel(config.kernelName, NATIVE_BACKEND) !== undefined) unregisterKernel(config.kernelName, NATIVE_BACKEND);
    registerKernel({ ...config, backendName: NATIVE_BACKEND });
  }
  for (const grad of [groupNormGradConfig, ...UNET_OP_GRADIENTS]) {
    if (getGradient(grad.kernelName) === undefined) registerGradient(grad);
  }
  // tfjs's Prelu gradient, wrapped so that `native` runs one PreluGrad kernel (other backends keep tfjs's).
  const preluBase = getGradient(Prelu);
  if (preluBase !== undefined) registerGradient(nativePreluGradConfig(preluBase));
  // tfjs's Sum gradient, wrapped so that `native` tiles dy instead of multiplying it by a JS-filled ones tensor.
  const sumBase = getGradient(Sum);
  if (sumBase !== undefined) registerGradient(nativeSumGradConfig(sumBase));
  return true;
}

/** Why `native` was not registered, or undefined when it was. */
export function nativeUnavailableReason(): string | undefined {
  return unavailable;
}
