/**
 * FusedBatchNorm (tf.batchNorm's kernel) on `native`, float32: the same per-element formula as tfjs cpu, in double
 * and in its operation order, with each parameter indexed modulo its length as tfjs cpu does; multi-threaded.
 * Train-mode BatchNorm (src/nn/layers.ts) calls it with the batch moments.
 */
import { FusedBatchNorm } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function fusedBatchNormKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x, scale, offset, mean, variance } = args.inputs as Record<string, TensorInfo | undefined | null>;
  const { varianceEpsilon } = (args.attrs ?? {}) as { varianceEpsilon?: number | null };
  const xv = valuesOf(args.backend, x ?? undefined);
  const mv = valuesOf(args.backend, mean ?? undefined);
  const vv = valuesOf(args.backend, variance ?? undefined);
  const sv = scale ? valuesOf(args.backend, scale) : null;
  const ov = offset ? valuesOf(args.backend, offset) : null;
  if (
    x == null || xv === null || mv === null || vv === null || mv.length === 0 || vv.length === 0 ||
    (scale && (sv === null || sv.length === 0)) || (offset && (ov === null || ov.length === 0))
  ) {
    return runCpuKernel(FusedBatchNorm, args);
  }
  const out = allocOutput(args.backend, [...x.shape]);
  if (xv.length > 0) loadNativeAddon().fusedBatchNorm(xv, mv, vv, sv, ov, varianceEpsilon ?? 0.001, out.values);
  return out.info;
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: 'native',
  kernelFunc: fusedBatchNormKernel as unknown as KernelFunc,
};
