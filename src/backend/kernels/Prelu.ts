/**
 * Prelu on `native` (float32, alpha one value or a vector along the last axis, as PReLU layers use): one
 * multi-threaded pass instead of tfjs cpu's per-element broadcast indexing. Other alpha shapes fall back.
 */
import { Prelu, util } from '@tensorflow/tfjs-core';
import { PreluGrad } from '../kernel-names.js';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, isChannelVector, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function preluKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x, alpha } = args.inputs as { x: TensorInfo; alpha: TensorInfo };
  const xv = valuesOf(args.backend, x);
  const av = valuesOf(args.backend, alpha);
  if (xv === null || av === null || !isPreluChannelAlpha(x, alpha)) return runCpuKernel(Prelu, args);
  const out = allocOutput(args.backend, [...x.shape], true); // every output element is written
  if (xv.length > 0) loadNativeAddon().prelu(xv, av, out.values);
  return out.info;
}

type Shaped = { readonly shape: readonly number[] };

/** True when `alpha` is one value or a vector along x's last axis (the layouts the native kernels index). */
export function isPreluChannelAlpha(x: Shaped, alpha: Shaped): boolean {
  const cols = x.shape[x.shape.length - 1];
  return cols !== undefined && util.sizeFromShape([...alpha.shape]) > 0 && isChannelVector(alpha, cols, x.shape.length);
}

/** PreluGrad: dx and dalpha in one native pass (the Prelu gradient on `native`, src/backend/gradients/prelu-grad.ts). */
function preluGradKernel(args: KernelArgs): TensorInfo[] {
  const { x, dy, alpha } = args.inputs as { x: TensorInfo; dy: TensorInfo; alpha: TensorInfo };
  const xv = valuesOf(args.backend, x);
  const dyv = valuesOf(args.backend, dy);
  const av = valuesOf(args.backend, alpha);
  if (xv === null || dyv === null || av === null || !isPreluChannelAlpha(x, alpha)) {
    throw new Error(`${PreluGrad}: float32 x, dy and a channel-vector alpha expected`);
  }
  const dx = allocOutput(args.backend, [...x.shape], true); // every element is written
  const dalpha = allocOutput(args.backend, [...alpha.shape]);
  if (xv.length > 0) loadNativeAddon().preluGrad(xv, dyv, av, dx.values, dalpha.values);
  return [dx.info, dalpha.info];
}

export const preluGradConfig: KernelConfig = {
  kernelName: PreluGrad,
  backendName: 'native',
  kernelFunc: preluGradKernel as unknown as KernelFunc,
};

export const preluConfig: KernelConfig = {
  kernelName: Prelu,
  backendName: 'native',
  kernelFunc: preluKernel as unknown as KernelFunc,
};
