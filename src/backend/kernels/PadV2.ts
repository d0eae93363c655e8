/** PadV2 (constant padding) on `native`: fill with the constant, then one strided copy of x into the interior. */
import { PadV2 } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_COPY_RANK, allocWords, copyStrided, denseStrides, wordsOf } from './data-movement-util.js';
import { runCpuKernel, type KernelArgs } from './native-kernel-util.js';

function padV2Kernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { x } = args.inputs as { x: TensorInfo };
  const { paddings, constantValue } = (args.attrs ?? {}) as { paddings: Array<[number, number]>; constantValue: number };
  const xv = wordsOf(args.backend, x);
  const rank = x.shape.length;
  if (xv === null || rank === 0 || rank > MAX_COPY_RANK || paddings.length !== rank) return runCpuKernel(PadV2, args);
  const outShape = paddings.map((p, d) => p[0] + (x.shape[d] as number) + p[1]);
  const out = allocWords(args.backend, outShape, x.dtype, false);
  // Same fill as tfjs cpu (a typed-array fill), so int32 constants are truncated identically.
  if (constantValue !== 0) out.values.fill(constantValue);
  const os = denseStrides(outShape);
  const offset = paddings.reduce((o, p, d) => o + p[0] * (os[d] as number), 0);
  copyStrided(xv, 0, denseStrides(x.shape), out.values, offset, os, x.shape);
  return out.info;
}

export const padV2Config: KernelConfig = {
  kernelName: PadV2,
  backendName: 'native',
  kernelFunc: padV2Kernel as unknown as KernelFunc,
};
