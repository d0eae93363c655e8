/** SplitV on `native`: one strided copy per piece (tfjs cpu runs its slow per-element Slice for each). */
import { SplitV, backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function splitVKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const attrs = (args.attrs ?? {}) as { numOrSizeSplits: number | number[]; axis: number | number[] };
  const xv = wordsOf(args.backend, x);
  if (xv === null || x.shape.length > MAX_COPY_RANK || x.shape.length === 0) return runCpuKernel(SplitV, args);
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0] as number;
  const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
  const xs = denseStrides(x.shape);
  let begin = 0;
  return sizes.map((s) => {
    const shape = [...x.shape];
    shape[axis] = s;
    const out = allocWords(args.backend, shape, x.dtype, true);
    copyStrided(xv, begin * (xs[axis] as number), xs, out.values, 0, denseStrides(shape), shape);
    begin += s;
    return out.info;
  });
}

export const splitVConfig: KernelConfig = {
  kernelName: SplitV,
  backendName: 'native',
  kernelFunc: splitVKernel as unknown as KernelFunc,
};
