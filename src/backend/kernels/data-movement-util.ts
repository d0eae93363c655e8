/**
 * Helpers for the native data-movement kernels (Slice, SplitV, Concat, Transpose, Tile, PadV2, Reverse): zero-copy
 * access to float32/int32 tensor storage as 32-bit words, output allocation, strides, and the one call into the
 * addon's strided copy that all of them reduce to.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { util } from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from '../native-binding.js';
import { allocOutput } from './native-kernel-util.js';

/** The typed arrays the addon copies as 32-bit words. */
export type Words = Float32Array | Int32Array;

/** Highest rank the addon's strided copy accepts (src/backend/native/data_movement.h). */
export const MAX_COPY_RANK = 16;

/** The Float32Array/Int32Array behind a float32/int32 tensor (no copy), or null for any other dtype or storage. */
export function wordsOf(backend: MathBackendCPU, t: TensorInfo | undefined): Words | null {
  if (t === undefined || (t.dtype !== 'float32' && t.dtype !== 'int32')) return null;
  const values = backend.data.get(t.dataId)?.values;
  const expected = t.dtype === 'float32' ? values instanceof Float32Array : values instanceof Int32Array;
  return expected && (values as Words).length === util.sizeFromShape(t.shape) ? (values as Words) : null;
}

/**
 * Allocates a float32 or int32 output and registers it with the backend. float32 outputs come from the native
 * backend's recycling allocator (allocOutput); `overwritten` says the kernel writes every element, so a recycled
 * array needs no zero-fill (every copy kernel; not PadV2, whose zero padding relies on it).
 */
export function allocWords(backend: MathBackendCPU, shape: number[], dtype: DataType, overwritten: boolean): { info: TensorInfo; values: Words } {
  if (dtype !== 'int32') return allocOutput(backend, shape, overwritten);
  const values = new Int32Array(util.sizeFromShape(shape));
  return { info: backend.makeTensorInfo(shape, dtype, values), values };
}

/** Row-major element strides of `shape`, one per dimension (the last is 1). */
export function denseStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d] as number;
  }
  return strides;
}

/**
 * Copies `shape` elements from src (offset, strides) to dst (offset, strides). A rank-0 copy moves one element;
 * callers keep the rank within MAX_COPY_RANK.
 */
export function copyStrided(
  src: Words, srcOffset: number, srcStrides: readonly number[],
  dst: Words, dstOffset: number, dstStrides: readonly number[], shape: readonly number[],
): void {
  if (shape.length === 0) {
    loadNativeAddon().stridedCopy(src, srcOffset, dst, dstOffset, [1], [1], [1]);
    return;
  }
  loadNativeAddon().stridedCopy(src, srcOffset, dst, dstOffset, shape, srcStrides, dstStrides);
}
