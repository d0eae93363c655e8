/**
 * Helpers shared by the TS halves of the native kernels: zero-copy access to the cpu backend's Float32Arrays,
 * geometry packing for the addon, the cpu fallback for anything the addon does not support, and the checks that
 * decide it.
 */
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { backend_util, getKernel, util } from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { NativeBackend } from '../native-backend.js';
import { ACTIVATION_CODES, type ConvGeometry } from '../native-binding.js';

/** The arguments tfjs passes to every kernel function. */
export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: NamedAttrMap;
}

/** The Float32Array behind a float32 tensor on the cpu/native backend (no copy), or null if it is not one. */
export function valuesOf(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Float32Array && values.length === util.sizeFromShape(t.shape) ? values : null;
}

/**
 * Allocates a float32 output in JS and registers it with the backend: on `native` from its recycling allocator
 * (NativeBackend.allocFloat32), else a fresh array. Zero-filled unless `overwritten`, which a caller may pass
 * only when its kernel writes every element (then a recycled array may hold old values until it does).
 */
export function allocOutput(
  backend: MathBackendCPU,
  shape: number[],
  overwritten = false,
): { info: TensorInfo; values: Float32Array } {
  const n = util.sizeFromShape(shape);
  const values = backend instanceof NativeBackend ? backend.allocFloat32(n, overwritten) : new Float32Array(n);
  return { info: backend.makeTensorInfo(shape, 'float32', values), values };
}

let fallbacks = 0;

/** How many native kernel calls fell back to the cpu kernel so far (tests check that supported cases do not). */
export function countCpuFallbacks(): number {
  return fallbacks;
}

/** Runs tfjs's own cpu kernel: used for every case the native kernel does not cover. */
export function runCpuKernel(kernelName: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  fallbacks++;
  const config = getKernel(kernelName, 'cpu');
  if (config === undefined) throw new Error(`cpu kernel ${kernelName} is not registered`);
  return (config.kernelFunc as KernelFunc)(args as Parameters<KernelFunc>[0]);
}

/** Packs a conv info into the addon's 15-integer geometry (NHWC only; callers check dataFormat first). */
export function convGeometry(info: backend_util.Conv2DInfo): ConvGeometry {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight,
    info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ];
}

/** True when a conv info describes NHWC data the addon handles (2-D, channels last, non-negative padding). */
export function isNativeConv(info: backend_util.Conv2DInfo): boolean {
  return info.dataFormat === 'channelsLast' && info.padInfo.top >= 0 && info.padInfo.left >= 0 && info.inChannels > 0;
}

/**
 * A bias or PReLU-weights tensor the addon can apply along the output's last axis: one value, or `cols` values
 * laid out along the last axis, and no broadcast that would enlarge the output.
 */
export function isChannelVector(t: { readonly shape: readonly number[] }, cols: number, outRank: number): boolean {
  const size = util.sizeFromShape([...t.shape]);
  if (t.shape.length > outRank) return false;
  if (size === 1) return true;
  return size === cols && t.shape[t.shape.length - 1] === cols;
}

/** The epilogue arguments for a fused kernel, or null when the native epilogue cannot express it. */
export function epilogueArgs(
  backend: MathBackendCPU,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
  cols: number,
  outRank: number,
): { bias: Float32Array | null; act: number; alpha: Float32Array | null; leaky: number } | null {
  const activation = (attrs['activation'] as string | undefined) ?? 'linear';
  const act = ACTIVATION_CODES[activation];
  if (act === undefined) return null;
  const biasT = inputs['bias'];
  let bias: Float32Array | null = null;
  if (biasT !== undefined && biasT !== null) {
    bias = valuesOf(backend, biasT);
    if (bias === null || !isChannelVector(biasT, cols, outRank)) return null;
  }
  let alpha: Float32Array | null = null;
  if (activation === 'prelu') {
    const alphaT = inputs['preluActivationWeights'];
    if (alphaT === undefined || alphaT === null) return null;
    alpha = valuesOf(backend, alphaT);
    if (alpha === null || !isChannelVector(alphaT, cols, outRank)) return null;
  }
  const leaky = (attrs['leakyreluAlpha'] as number | undefined) ?? 0.2;
  return { bias, act, alpha, leaky };
}
