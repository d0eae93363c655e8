/**
 * Softmax on `native` (last axis, float32): max-subtracted, exp'd with the addon's vectorised exp and normalised
 * in one multi-threaded pass per row block; tfjs cpu runs five single-threaded kernels with four temporaries.
 * tfjs's gradient for Softmax is built from Mul/Sum/Sub, which are native already.
 */
import { Softmax, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function softmaxKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { logits } = args.inputs as { logits: TensorInfo };
  const { dim } = (args.attrs ?? {}) as { dim: number };
  const rank = logits.shape.length;
  const xv = valuesOf(args.backend, logits);
  const cols = logits.shape[rank - 1] ?? 0;
  // Non-last axes are an error in tfjs cpu too: let it raise its own message.
  if (xv === null || rank === 0 || (dim !== -1 && dim !== rank - 1) || cols === 0) return runCpuKernel(Softmax, args);
  const out = allocOutput(args.backend, [...logits.shape]);
  loadNativeAddon().softmax(xv, out.values, util.sizeFromShape(logits.shape) / cols, cols);
  return out.info;
}

export const softmaxConfig: KernelConfig = {
  kernelName: Softmax,
  backendName: 'native',
  kernelFunc: softmaxKernel as unknown as KernelFunc,
};
