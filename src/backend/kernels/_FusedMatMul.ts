/** _FusedMatMul on `native`: batched SGEMM + bias + activation (tfjs definitions). */
import { _FusedMatMul } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { planMatMul } from './matmul-geometry.js';
import { allocOutput, epilogueArgs, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** matMul(a, b) + bias, then the activation; bias/PReLU weights must be per-column or scalar. */
export function fusedMatMul(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as NamedAttrMap;
  const transposeA = attrs['transposeA'] === true;
  const transposeB = attrs['transposeB'] === true;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const plan = planMatMul(a, b, transposeA, transposeB);
  const av = valuesOf(backend, a);
  const bv = valuesOf(backend, b);
  if (plan === null || av === null || bv === null) return runCpuKernel(_FusedMatMul, args);
  const ep = epilogueArgs(backend, inputs, attrs, plan.n, plan.outShape.length);
  if (ep === null) return runCpuKernel(_FusedMatMul, args);
  const out = allocOutput(backend, plan.outShape);
  const dims = [plan.m, plan.n, plan.k, transposeA ? 1 : 0, transposeB ? 1 : 0];
  loadNativeAddon().fusedBatchMatMul(av, bv, out.values, dims, plan.aIndex, plan.bIndex, ep.bias, ep.act, ep.alpha, ep.leaky);
  return out.info;
}

export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: 'native',
  kernelFunc: fusedMatMul as unknown as KernelFunc,
};
