/** ResizeNearestNeighbor on `native` (float32 NHWC, every attribute combination tfjs allows). */
import { ResizeNearestNeighbor } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';
import { nearestSourceIndices } from './resize-nearest-tables.js';

function resizeKernel(args: KernelArgs): TensorInfo | TensorInfo[] {
  const { images } = args.inputs as { images: TensorInfo };
  const attrs = (args.attrs ?? {}) as { alignCorners: boolean; halfPixelCenters: boolean; size: [number, number] };
  const xv = valuesOf(args.backend, images);
  if (xv === null || images.shape.length !== 4) return runCpuKernel(ResizeNearestNeighbor, args);
  const [batch, inH, inW, ch] = images.shape as [number, number, number, number];
  const [outH, outW] = attrs.size;
  const out = allocOutput(args.backend, [batch, outH, outW, ch], true); // every element is written
  if (out.values.length === 0) return out.info;
  const rows = nearestSourceIndices(inH, outH, attrs.alignCorners, attrs.halfPixelCenters);
  const cols = nearestSourceIndices(inW, outW, attrs.alignCorners, attrs.halfPixelCenters);
  loadNativeAddon().resizeNearest(xv, out.values, [batch, inH, inW, ch, outH, outW], rows, cols);
  return out.info;
}

export const resizeNearestNeighborConfig: KernelConfig = {
  kernelName: ResizeNearestNeighbor,
  backendName: 'native',
  kernelFunc: resizeKernel as unknown as KernelFunc,
};
