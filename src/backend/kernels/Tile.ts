/**
 * Tile on `native`: the output is viewed as [reps0, n0, reps1, n1, ...] and filled by one strided copy whose
 * source stride is 0 along each reps axis (so rank <= 8).
 */
import { Tile } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function tileKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = (args.attrs ?? {}) as { reps: number[] };
  const xv = wordsOf(args.backend, x);
  const rank = x.shape.length;
  if (xv === null || rank === 0 || 2 * rank > MAX_COPY_RANK || reps.length !== rank) return runCpuKernel(Tile, args);
  const outShape = x.shape.map((n, d) => n * (reps[d] as number));
  const xs = denseStrides(x.shape);
  const os = denseStrides(outShape);
  const shape: number[] = [];
  const srcStrides: number[] = [];
  const dstStrides: number[] = [];
  for (let d = 0; d < rank; d++) {
    const n = x.shape[d] as number;
    shape.push(reps[d] as number, n);
    srcStrides.push(0, xs[d] as number);
    dstStrides.push(n * (os[d] as number), os[d] as number);
  }
  const out = allocWords(args.backend, outShape, x.dtype, true);
  copyStrided(xv, 0, srcStrides, out.values, 0, dstStrides, shape);
  return out.info;
}

export const tileConfig: KernelConfig = {
  kernelName: Tile,
  backendName: 'native',
  kernelFunc: tileKernel as unknown as KernelFunc,
};
