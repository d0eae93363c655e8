/** Slice on `native`: one strided copy (tfjs cpu uses per-element TensorBuffer get/set for non-contiguous slices). */
import { Slice, slice_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function sliceKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const attrs = (args.attrs ?? {}) as { begin: number | number[]; size?: number | number[] };
  const xv = wordsOf(args.backend, x);
  if (xv === null || x.shape.length > MAX_COPY_RANK) return runCpuKernel(Slice, args);
  const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x, begin, size);
  const xs = denseStrides(x.shape);
  const offset = begin.reduce((o, b, d) => o + b * (xs[d] as number), 0);
  const out = allocWords(args.backend, size, x.dtype, true);
  copyStrided(xv, offset, xs, out.values, 0, denseStrides(size), size);
  return out.info;
}

export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'native',
  kernelFunc: sliceKernel as unknown as KernelFunc,
};
