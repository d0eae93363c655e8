/**
 * ResizeNearestNeighborGrad on `native` (float32): each input pixel gathers, in ascending order and in double, the
 * dy pixels that the forward kernel copied it to. Deliberately not tfjs cpu's kernel, which reads dy at the wrong
 * batch offset for batch > 1 (see nearestAdjoint); equal to it bit for bit for batch 1 without halfPixelCenters.
 */
import { ResizeNearestNeighborGrad } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';
import { nearestAdjoint, nearestSourceIndices } from './resize-nearest-tables.js';

function resizeGradKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { images, dy } = args.inputs as { images: TensorInfo; dy: TensorInfo };
  const attrs = (args.attrs ?? {}) as { alignCorners: boolean; halfPixelCenters?: boolean };
  const dyv = valuesOf(args.backend, dy);
  if (
    dyv === null || images.dtype !== 'float32' || images.shape.length !== 4 || dy.shape.length !== 4 ||
    dy.shape[0] !== images.shape[0] || dy.shape[3] !== images.shape[3]
  ) {
    return runCpuKernel(ResizeNearestNeighborGrad, args);
  }
  const [batch, xH, xW, ch] = images.shape as [number, number, number, number];
  const [, yH, yW] = dy.shape as [number, number, number, number];
  const dx = allocOutput(args.backend, [batch, xH, xW, ch]);
  if (dx.values.length === 0 || dyv.length === 0) return dx.info;
  const half = attrs.halfPixelCenters === true;
  const rows = nearestAdjoint(nearestSourceIndices(xH, yH, attrs.alignCorners, half), xH);
  const cols = nearestAdjoint(nearestSourceIndices(xW, yW, attrs.alignCorners, half), xW);
  loadNativeAddon().resizeNearestGrad(dyv, dx.values, [batch, xH, xW, ch, yH, yW], rows.ptr, rows.list, cols.ptr, cols.list);
  return dx.info;
}

export const resizeNearestNeighborGradConfig: KernelConfig = {
  kernelName: ResizeNearestNeighborGrad,
  backendName: 'native',
  kernelFunc: resizeGradKernel as unknown as KernelFunc,
};
