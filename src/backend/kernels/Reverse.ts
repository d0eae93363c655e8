/** Reverse on `native`: one strided copy with negative source strides along the reversed axes. */
import { Reverse, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function reverseKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const { dims } = (args.attrs ?? {}) as { dims: number | number[] };
  const xv = wordsOf(args.backend, x);
  const rank = x.shape.length;
  if (xv === null || rank === 0 || rank > MAX_COPY_RANK) return runCpuKernel(Reverse, args);
  const axes = new Set(util.parseAxisParam(dims, x.shape));
  const xs = denseStrides(x.shape);
  let offset = 0;
  const srcStrides = xs.map((s, d) => {
    if (!axes.has(d)) return s;
    offset += ((x.shape[d] as number) - 1) * s;
    return -s;
  });
  const out = allocWords(args.backend, [...x.shape], x.dtype, true);
  if (out.values.length > 0) copyStrided(xv, offset, srcStrides, out.values, 0, xs, x.shape);
  return out.info;
}

export const reverseConfig: KernelConfig = {
  kernelName: Reverse,
  backendName: 'native',
  kernelFunc: reverseKernel as unknown as KernelFunc,
};
