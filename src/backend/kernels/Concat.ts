/** Concat on `native` (any axis): each input is one strided copy into its band of the output. */
import { Concat, backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf, type Words } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function concatKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const inputs = args.inputs as unknown as TensorInfo[];
  const attrs = (args.attrs ?? {}) as { axis: number | number[] };
  const first = inputs[0];
  if (first === undefined || first.shape.length === 0 || first.shape.length > MAX_COPY_RANK) {
    return runCpuKernel(Concat, args);
  }
  const values: Words[] = [];
  for (const t of inputs) {
    const v = wordsOf(args.backend, t);
    if (v === null || t.dtype !== first.dtype) return runCpuKernel(Concat, args);
    values.push(v);
  }
  const axis = util.parseAxisParam(attrs.axis, first.shape)[0] as number;
  const shapes = inputs.map((t) => t.shape);
  backend_util.assertParamsConsistent(shapes, axis);
  const outShape = backend_util.computeOutShape(shapes, axis);
  const out = allocWords(args.backend, outShape, first.dtype, true);
  const os = denseStrides(outShape);
  let offset = 0;
  inputs.forEach((t, i) => {
    copyStrided(values[i] as Words, 0, denseStrides(t.shape), out.values, offset * (os[axis] as number), os, t.shape);
    offset += t.shape[axis] as number;
  });
  return out.info;
}

export const concatConfig: KernelConfig = {
  kernelName: Concat,
  backendName: 'native',
  kernelFunc: concatKernel as unknown as KernelFunc,
};
