/** DiffiqaConcatConv2D on `native`: FusedConv2D on the channel concatenation of two inputs, never stored. */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { ConcatConv2D } from '../kernel-names.js';
import { loadNativeAddon } from '../native-binding.js';
import { convInfo, type ConvLikeAttrs } from './conv-info.js';
import { allocOutput, convGeometry, epilogueArgs, isNativeConv, valuesOf, type KernelArgs } from './native-kernel-util.js';

function concatConv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as NamedAttrMap;
  const { a, b, filter } = inputs as { a: TensorInfo; b: TensorInfo; filter: TensorInfo };
  const [n, h, w, ca = 0] = a.shape;
  if (a.shape.length !== 4 || b.shape.length !== 4 || b.shape[0] !== n || b.shape[1] !== h || b.shape[2] !== w) {
    throw new Error(`${ConcatConv2D}: a and b must be [B,H,W,C] of one batch and size, got [${a.shape.join(',')}] and [${b.shape.join(',')}]`);
  }
  const info = convInfo([n as number, h as number, w as number, ca + (b.shape[3] as number)], filter.shape, attrs as unknown as ConvLikeAttrs, false);
  const [av, bv, wv] = [valuesOf(backend, a), valuesOf(backend, b), valuesOf(backend, filter)];
  const ep = info === null ? null : epilogueArgs(backend, inputs, attrs, info.outChannels, 4);
  if (info === null || !isNativeConv(info) || av === null || bv === null || wv === null || ep === null) {
    throw new Error(`${ConcatConv2D}: float32 NHWC inputs, filter [fH,fW,ca+cb,outC] and a per-channel bias expected`);
  }
  const out = allocOutput(backend, info.outShape, true); // every output element is written
  loadNativeAddon().fusedConv2dConcat(av, bv, wv, out.values, convGeometry(info), ep.bias, ep.act, ep.alpha, ep.leaky);
  return out.info;
}

export const concatConv2DConfig: KernelConfig = {
  kernelName: ConcatConv2D,
  backendName: 'native',
  kernelFunc: concatConv2D as unknown as KernelFunc,
};
