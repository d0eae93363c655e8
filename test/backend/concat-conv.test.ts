/**
 * concatConv2d (src/backend/ops/concat-conv.ts): a convolution of the channel concatenation of two maps, which the
 * native kernel reads in place. Against tf.concat then the convolution on `native`, bit for bit, on every
 * instruction set, through each path the convolution can take: Winograd with 16-aligned parts, the direct kernel's
 * band copy, the pointwise direct kernel, and the GEMM (the pair assembled first); and against tfjs cpu.
 */
import { describe, expect, it } from 'vitest';
import { type ConvPad, concatConv2d } from '../../src/backend/ops/concat-conv.js';
import { tf } from '../../src/backend/tf.js';
import { expectFusedEqualsSeparate, expectGradientsOfSeparate, randomValues, runOn } from './compare.js';

const PAD1: ConvPad = [[0, 0], [1, 1], [1, 1], [0, 0]];

interface Case {
  name: string;
  a: [number, number, number, number];
  cb: number;
  k: number;
  outC: number;
  bias: boolean;
}

const CASES: Case[] = [
  { name: 'Winograd, 16 + 16 channels (the 112 px up blocks)', a: [2, 34, 36, 16], cb: 16, k: 3, outC: 16, bias: true },
  { name: 'Winograd, 32 + 16', a: [2, 24, 26, 32], cb: 16, k: 3, outC: 32, bias: true },
  { name: 'Winograd-shaped but parts not 16-aligned (assembled first)', a: [2, 34, 36, 8], cb: 24, k: 3, outC: 16, bias: true },
  { name: 'direct band copy, 16 + 8 channels', a: [2, 9, 11, 16], cb: 8, k: 3, outC: 16, bias: true },
  { name: 'pointwise, 16 + 16', a: [3, 7, 9, 16], cb: 16, k: 1, outC: 16, bias: true },
  { name: 'pointwise without bias, 5 + 3', a: [1, 6, 5, 5], cb: 3, k: 1, outC: 7, bias: false },
  { name: 'GEMM (96 output channels of a pointwise conv)', a: [1, 6, 7, 16], cb: 16, k: 1, outC: 96, bias: true },
];

function tensors(c: Case, i: number) {
  const [n, h, w, ca] = c.a;
  const cin = ca + c.cb;
  return {
    a: tf.tensor4d(randomValues(`cc-a-${i}`, n * h * w * ca), c.a),
    b: tf.tensor4d(randomValues(`cc-b-${i}`, n * h * w * c.cb), [n, h, w, c.cb]),
    w: tf.tensor4d(randomValues(`cc-w-${i}`, c.k * c.k * cin * c.outC), [c.k, c.k, cin, c.outC]),
    bias: c.bias ? tf.tensor1d(randomValues(`cc-bias-${i}`, c.outC)) : null,
    pad: (c.k === 3 ? PAD1 : 'valid') as ConvPad,
  };
}

/** tf.concat then the convolution, as the UNet ran it before. */
function separate(t: ReturnType<typeof tensors>): tf.Tensor4D {
  const x = tf.concat([t.a, t.b], 3) as tf.Tensor4D;
  return t.bias !== null ? tf.fused.conv2d({ x, filter: t.w, strides: 1, pad: t.pad, bias: t.bias }) : tf.conv2d(x, t.w, 1, t.pad);
}

describe('concatConv2d', () => {
  it('equals tf.concat then the convolution bit for bit on every instruction set, and tfjs cpu', () => {
    expectFusedEqualsSeparate(
      'fusedConv2dConcat',
      CASES.length,
      (i) => {
        const t = tensors(CASES[i]!, i);
        return concatConv2d(t.a, t.b, t.w, t.bias, t.pad);
      },
      (i) => separate(tensors(CASES[i]!, i)),
      1e-5,
    );
  });

  it('records the separate ops under a gradient tape, so gradients reach both maps and the filter', () => {
    expectGradientsOfSeparate((pair) => {
      const t = tensors(CASES[0]!, 0);
      const f = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) => {
        const u = { ...t, a: a as tf.Tensor4D, b: b as tf.Tensor4D, w: w as tf.Tensor4D };
        return tf.sum(tf.square(pair ? concatConv2d(u.a, u.b, u.w, u.bias, u.pad) : separate(u)));
      };
      return tf.grads(f)([t.a, t.b, t.w]);
    });
  });

  it('names maps of different sizes and a filter of the wrong depth', () => {
    runOn('native', () => {
      const t = tensors(CASES[4]!, 4);
      expect(() => concatConv2d(t.a, tf.zeros([3, 7, 8, 16]) as tf.Tensor4D, t.w, t.bias, t.pad)).toThrow(/concatConv2d b/);
      expect(() => concatConv2d(t.a, t.b, tf.zeros([1, 1, 16, 16]) as tf.Tensor4D, t.bias, t.pad)).toThrow(/concatConv2d w/);
      return [];
    });
  });
});
