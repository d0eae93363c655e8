/**
 * Transpose on `native` (any perm): one strided copy; the addon tiles the copy when the output's last axis is
 * strided in the input (e.g. attention's [0, 1, 3, 2]) and copies rows otherwise (e.g. [0, 2, 1, 3]).
 */
import { Transpose } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function transposeKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const { perm } = (args.attrs ?? {}) as { perm: number[] };
  const xv = wordsOf(args.backend, x);
  if (xv === null || x.shape.length > MAX_COPY_RANK || perm.length !== x.shape.length) {
    return runCpuKernel(Transpose, args);
  }
  const xs = denseStrides(x.shape);
  const outShape = perm.map((p) => x.shape[p] as number);
  const out = allocWords(args.backend, outShape, x.dtype, true);
  copyStrided(xv, 0, perm.map((p) => xs[p] as number), out.values, 0, denseStrides(outShape), outShape);
  return out.info;
}

export const transposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'native',
  kernelFunc: transposeKernel as unknown as KernelFunc,
};
