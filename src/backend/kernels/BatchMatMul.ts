/** BatchMatMul on `native`: packed SGEMM per batch, batch dims broadcast like tfjs cpu. */
import { BatchMatMul } from '@tensorflow/tfjs-core';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { planMatMul } from './matmul-geometry.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** a [..., M, K] x b [..., K, N] (either transposed per attrs) -> [broadcast(...), M, N]. */
export function batchMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const { transposeA, transposeB } = args.attrs as unknown as BatchMatMulAttrs;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const plan = planMatMul(a, b, transposeA, transposeB);
  const av = valuesOf(backend, a);
  const bv = valuesOf(backend, b);
  if (plan === null || av === null || bv === null) return runCpuKernel(BatchMatMul, args);
  const out = allocOutput(backend, plan.outShape);
  const dims = [plan.m, plan.n, plan.k, transposeA ? 1 : 0, transposeB ? 1 : 0];
  loadNativeAddon().batchMatMul(av, bv, out.values, dims, plan.aIndex, plan.bIndex);
  return out.info;
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'native',
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
