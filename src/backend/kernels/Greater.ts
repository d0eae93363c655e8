/**
 * Greater on `native` (float32 against one value or a same-shape tensor; tfjs's PReLU and ReLU-family gradients
 * run greater(x, 0)): bool output as 0/1 bytes like tfjs cpu. Other broadcasts and dtypes fall back.
 */
import { Greater, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

function greaterKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const av = valuesOf(args.backend, a);
  const bv = valuesOf(args.backend, b);
  const scalarB = bv !== null && bv.length === 1 && b.shape.length <= a.shape.length;
  if (av === null || bv === null || !(scalarB || util.arraysEqual(a.shape, b.shape))) return runCpuKernel(Greater, args);
  const out = new Uint8Array(av.length);
  if (av.length > 0) loadNativeAddon().greater(av, bv, out);
  return args.backend.makeTensorInfo([...a.shape], 'bool', out);
}

export const greaterConfig: KernelConfig = {
  kernelName: Greater,
  backendName: 'native',
  kernelFunc: greaterKernel as unknown as KernelFunc,
};
