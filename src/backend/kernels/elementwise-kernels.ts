/**
 * Multi-threaded native versions of the float32 elementwise kernels that dominate a UNet step after the
 * convolutions (PERF-NOTES.md), one KernelConfig per tfjs kernel name. The cpu kernels are single-threaded JS
 * with per-element broadcast indexing (~50x slower on 8x112x112x128 activations). Non-float32 inputs fall back.
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { BINARY_OP_CODES, UNARY_OP_CODES, loadNativeAddon } from '../native-binding.js';
import { allocOutput, runCpuKernel, valuesOf, type KernelArgs } from './native-kernel-util.js';

/** Element strides of `shape` aligned (from the right) to `outShape`, 0 along broadcast dimensions. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = outShape.length - shape.length + d;
    const size = shape[d] as number;
    strides[od] = size === 1 ? 0 : stride;
    stride *= size;
  }
  return strides;
}

/** Merges adjacent dimensions that both operands traverse uniformly, so the inner loop is as long as possible. */
export function collapseBroadcast(
  shape: readonly number[],
  as: readonly number[],
  bs: readonly number[],
): { shape: number[]; as: number[]; bs: number[] } {
  const out = { shape: [] as number[], as: [] as number[], bs: [] as number[] };
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d] as number;
    if (size === 1) continue; // a size-1 dimension moves nothing
    const last = out.shape.length - 1;
    if (
      last >= 0 &&
      (out.as[last] as number) === (as[d] as number) * size &&
      (out.bs[last] as number) === (bs[d] as number) * size
    ) {
      out.shape[last] = (out.shape[last] as number) * size;
      out.as[last] = as[d] as number;
      out.bs[last] = bs[d] as number;
    } else {
      out.shape.push(size);
      out.as.push(as[d] as number);
      out.bs.push(bs[d] as number);
    }
  }
  if (out.shape.length === 0) return { shape: [1], as: [0], bs: [0] };
  return out;
}

function binaryKernel(kernelName: keyof typeof BINARY_OP_CODES): KernelConfig {
  const code = BINARY_OP_CODES[kernelName];
  const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const av = valuesOf(args.backend, a);
    const bv = valuesOf(args.backend, b);
    if (av === null || bv === null) return runCpuKernel(kernelName, args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const c = collapseBroadcast(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
    const innerA = c.as[c.as.length - 1] as number;
    const innerB = c.bs[c.bs.length - 1] as number;
    if (innerA > 1 || innerB > 1) return runCpuKernel(kernelName, args);
    const out = allocOutput(args.backend, outShape);
    if (out.values.length > 0) loadNativeAddon().binaryOp(code, av, bv, out.values, c.shape, c.as, c.bs);
    return out.info;
  };
  return { kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

function unaryKernel(kernelName: keyof typeof UNARY_OP_CODES): KernelConfig {
  const code = UNARY_OP_CODES[kernelName];
  const kernelFunc = (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const xv = valuesOf(args.backend, x);
    if (xv === null) return runCpuKernel(kernelName, args);
    const out = allocOutput(args.backend, [...x.shape]);
    loadNativeAddon().unaryOp(code, xv, out.values);
    return out.info;
  };
  return { kernelName, backendName: 'native', kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** Add, Sub, Multiply, RealDiv, SquaredDifference with NumPy broadcasting. */
export const BINARY_KERNELS: readonly KernelConfig[] = (Object.keys(BINARY_OP_CODES) as (keyof typeof BINARY_OP_CODES)[]).map(binaryKernel);

/** Sigmoid, Exp, Square, Sqrt, Rsqrt, Neg, Relu, Tanh, Log, Abs, Erf. */
export const UNARY_KERNELS: readonly KernelConfig[] = (Object.keys(UNARY_OP_CODES) as (keyof typeof UNARY_OP_CODES)[]).map(unaryKernel);
