/**
 * A stride-1 convolution of the channel concatenation of two maps, as the UNet's up path runs it on (x, skip): on
 * `native`, outside gradient recording, one kernel that reads each map where the convolution reads its input (the
 * direct kernel's band copy, Winograd's input transform), so the concatenation - 64 MB written and read back at
 * cpu-small's 112 px level - is never stored. The same bits as tf.concat then the convolution (tested); those two
 * ops run otherwise, since they have gradients.
 */
import { engine, getKernel } from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import { ShapeError } from '../../util/errors.js';
import { ConcatConv2D } from '../kernel-names.js';
import { recordingGradients, tf } from '../tf.js';

/** 'valid', or explicit NHWC padding as tf.conv2d takes it. */
export type ConvPad = 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** conv2d(concat([a, b], 3), w, stride 1, pad) (+ bias), a [B,H,W,ca], b [B,H,W,cb], w [fH,fW,ca+cb,outC]. */
export function concatConv2d(a: Tensor4D, b: Tensor4D, w: Tensor4D, bias: Tensor1D | null, pad: ConvPad): Tensor4D {
  if (b.shape[0] !== a.shape[0] || b.shape[1] !== a.shape[1] || b.shape[2] !== a.shape[2]) {
    throw new ShapeError('concatConv2d b', `[${a.shape.slice(0, 3).join(',')},C]`, b.shape);
  }
  if (w.rank !== 4 || w.shape[2] !== a.shape[3] + b.shape[3]) {
    throw new ShapeError('concatConv2d w', `[fH,fW,${a.shape[3] + b.shape[3]},C']`, w.shape);
  }
  const inputs = [a, b, w, ...(bias !== null ? [bias] : [])];
  if (recordingGradients() || getKernel(ConcatConv2D, tf.getBackend()) === undefined || inputs.some((t) => t.dtype !== 'float32')) {
    return tf.tidy(() => {
      const x = tf.concat([a, b], 3) as Tensor4D;
      return bias !== null ? tf.fused.conv2d({ x, filter: w, strides: 1, pad, bias }) : tf.conv2d(x, w, 1, pad);
    });
  }
  const named: NamedTensorMap = bias !== null ? { a, b, filter: w, bias } : { a, b, filter: w };
  return engine().runKernel(ConcatConv2D, named, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC', activation: 'linear' }) as Tensor4D;
}
