/**
 * Concat on `native` (any axis). Viewed as rows (the dimensions before the axis) of concatenated segments (each
 * input's dimensions from the axis on), it is one pass over the output rows; with few rows (concatenating along an
 * outer axis), each input is one strided copy into its band of the output, which splits long rows over the threads.
 * The one pass writes every output cache line at once: two inputs of 16 channels copied one after the other wrote
 * each line in two halves, and a UNet concat at 112 px cost about twice its memory traffic.
 */
import { Concat, backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf, type Words } from './data-movement-util.js';
import { loadNativeAddon } from '../native-binding.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

/** Fewest output rows for the one-pass copy (fewer rows leave threads idle). */
const MIN_ROWS = 64;

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
  const rows = util.sizeFromShape(outShape.slice(0, axis));
  if (rows >= MIN_ROWS && values.every((v) => v.length > 0)) {
    loadNativeAddon().concatRows(values, out.values, rows);
    return out.info;
  }
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
