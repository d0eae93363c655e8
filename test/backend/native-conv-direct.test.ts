/**
 * The direct small-channel convolution (src/backend/native/conv_direct_impl.cc) against tfjs cpu, for the shape
 * classes it handles: channel counts 3..96 (one to four 16-wide vectors, masked channel tails, two column blocks),
 * output widths that leave partial pixel tiles, strides 1 and 2, explicit/same/valid padding, dilation 2, batch > 1,
 * bias folded into the accumulators, the stride-1 input gradient (a forward convolution, so also direct) and the
 * direct filter gradient (outC <= 64), both through tf.grads; FusedConv2D with PReLU (applied in the direct kernel's
 * registers) with per-channel and scalar weights.
 * Winograd F(2x2, 3x3) (conv_winograd_impl.cc) takes the 3x3 stride-1 cases with 32..256 input and 16..256 output
 * channels in multiples of 16, bias and PReLU in its output transform (forced with DIFFIQA_CONV_WINOGRAD=1: by
 * default it waits for 256 output tiles, checked separately below); with DIFFIQA_CONV_WINOGRAD=0 they take the
 * direct kernel, and with DIFFIQA_CONV_DIRECT=0 as well the im2col GEMM, so every path is checked on each shape.
 * The direct kernels (forward and filter gradient) have AVX-512 and AVX2 tiles (AVX2: two 8-wide vectors, 16 output
 * channels per column group); the kernel tests run on every instruction set the machine supports (vitest.config.ts),
 * and on the portable path these cases test the GEMM only.
 * Each case on each path also runs the forward kernel and both backprop kernels (dilation passed as their
 * `dilations` attribute) against an independent float64 reference (conv-reference.ts); for the dilated case, whose
 * tf.grads tfjs-core refuses on every backend, the test pins that error and compares the backprop kernels with tfjs
 * cpu's undilated ones on the zero-stuffed filter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';
import { DILATED_GRADIENT_ERROR, expectNativeConvMatchesReference, expectNativeDilatedMatchesCpuStuffed, referenceOutShape, type RefCase } from './conv-check.js';
import type { RefPad } from './conv-reference.js';

type Pad = RefPad;
type Case = RefCase;

const P1: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
const CASES: Case[] = [
  { name: 'UNet 3x3 16->16 pad 1, width 30 (tiles 14+14+2)', x: [3, 9, 30, 16], f: [3, 3, 16, 16], stride: 1, pad: P1 },
  { name: 'UNet 3x3 32->16 pad 1 (concat input)', x: [2, 8, 17, 32], f: [3, 3, 32, 16], stride: 1, pad: P1 },
  { name: 'init 7x7 3->16 pad 3', x: [2, 13, 15, 3], f: [7, 7, 3, 16], stride: 1, pad: [[0, 0], [3, 3], [3, 3], [0, 0]] },
  { name: 'downsample 4x4 s2 16->16 pad 1', x: [3, 14, 18, 16], f: [4, 4, 16, 16], stride: 2, pad: P1 },
  { name: '3x3 s2 same 13->48 (3 vectors, odd sizes)', x: [2, 11, 13, 13], f: [3, 3, 13, 48], stride: 2, pad: 'same' },
  { name: '3x3 64->64 pad 1 (4 vectors)', x: [2, 7, 7, 64], f: [3, 3, 64, 64], stride: 1, pad: P1 },
  { name: '3x3 valid 24->80 (column blocks 64+16)', x: [1, 9, 26, 24], f: [3, 3, 24, 80], stride: 1, pad: 'valid' },
  { name: '3x3 48->21 masked tail, asymmetric pad', x: [2, 6, 9, 48], f: [3, 3, 48, 21], stride: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { name: '3x3 dilation 2 same 16->32', x: [2, 10, 12, 16], f: [3, 3, 16, 32], stride: 1, pad: 'same', dilation: 2 },
  { name: '2x2 s2 valid 5->7 (one partial vector)', x: [4, 6, 31, 5], f: [2, 2, 5, 7], stride: 2, pad: 'valid' },
  { name: 'mobileface conv1 3x3 s2 pad 1 3->32, odd input', x: [2, 15, 17, 3], f: [3, 3, 3, 32], stride: 2, pad: P1 },
  { name: 'mobileface conv1 3x3 s2 numeric pad 1 3->32, even input', x: [2, 16, 16, 3], f: [3, 3, 3, 32], stride: 2, pad: 1 },
  { name: '3x3 96->32 pad 1 (compile-time pixel stride 96)', x: [1, 5, 14, 96], f: [3, 3, 96, 32], stride: 1, pad: P1 },
  { name: '3x3 s2 64->64 pad 1 (compile-time pixel stride 128)', x: [1, 7, 26, 64], f: [3, 3, 64, 64], stride: 2, pad: P1 },
  { name: 'pointwise 1x1 32->48 (input read in place), odd width', x: [3, 5, 13, 32], f: [1, 1, 32, 48], stride: 1, pad: 'valid' },
  // Winograd F(2x2, 3x3) shapes: odd output sizes (a last tile row and column half outside), padding on one side
  // only, widths of several tile blocks, 256 channels in and out.
  { name: 'Winograd 3x3 32->32 same, odd 13x15', x: [2, 13, 15, 32], f: [3, 3, 32, 32], stride: 1, pad: 'same' },
  { name: 'Winograd 3x3 48->64 valid, odd output 7x9', x: [1, 9, 11, 48], f: [3, 3, 48, 64], stride: 1, pad: 'valid' },
  { name: 'Winograd 3x3 32->16 asymmetric pad, width 61 (several tile blocks)', x: [1, 6, 61, 32], f: [3, 3, 32, 16], stride: 1, pad: [[0, 0], [0, 2], [2, 1], [0, 0]] },
  { name: 'Winograd 3x3 256->32 pad 1, width 40 (blocks shortened to fit a plane)', x: [1, 4, 40, 256], f: [3, 3, 256, 32], stride: 1, pad: P1 },
  { name: 'Winograd 3x3 32->256 pad 1, 3x3 image', x: [2, 3, 3, 32], f: [3, 3, 32, 256], stride: 1, pad: P1 },
];

/**
 * Convolution paths: Winograd wherever the shape allows (DIFFIQA_CONV_WINOGRAD=1, which drops the size threshold
 * that keeps these small cases direct by default), else direct; direct only; the im2col GEMM only.
 */
type ConvPath = 'winograd' | 'direct' | 'gemm';
const PATHS: readonly ConvPath[] = ['winograd', 'direct', 'gemm'];

function usePath(path: ConvPath): void {
  process.env['DIFFIQA_CONV_WINOGRAD'] = path === 'winograd' ? '1' : '0';
  if (path === 'gemm') process.env['DIFFIQA_CONV_DIRECT'] = '0';
}

function input(c: Case): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    x: tf.tensor4d(randomValues(`dx-${c.name}`, n(c.x)), c.x),
    w: tf.tensor4d(randomValues(`dw-${c.name}`, n(c.f)), c.f),
  };
}

afterEach(() => {
  delete process.env['DIFFIQA_CONV_DIRECT'];
  delete process.env['DIFFIQA_CONV_WINOGRAD'];
});

describe('direct small-channel convolution matches tfjs cpu', () => {
  for (const path of PATHS) {
    for (const c of CASES) {
      it(`${path}: Conv2D and FusedConv2D (bias) ${c.name}`, () => {
        usePath(path);
        const before = countCpuFallbacks();
        expectNativeMatchesCpu(() => {
          const { x, w } = input(c);
          const bias = tf.tensor1d(randomValues(`db-${c.name}`, c.f[3]));
          const plain = tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation ?? 1);
          const fused = tf.fused.conv2d({ x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1, bias });
          // PReLU in the direct kernel's registers: per-channel weights (with and without bias) and one shared weight.
          const alpha = tf.tensor1d(randomValues(`da-${c.name}`, c.f[3]));
          const prelu = tf.fused.conv2d({
            x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1, activation: 'prelu', preluActivationWeights: alpha,
          });
          const preluBias = tf.fused.conv2d({
            x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1, bias, activation: 'prelu', preluActivationWeights: alpha,
          });
          const preluScalar = tf.fused.conv2d({
            x, filter: w, strides: c.stride, pad: c.pad, dilations: c.dilation ?? 1, activation: 'prelu', preluActivationWeights: tf.scalar(0.3),
          });
          return [plain, fused, prelu, preluBias, preluScalar];
        });
        expect(countCpuFallbacks()).toBe(before);
      });

      const data = () => {
        const n = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
        return { x: randomValues(`dx-${c.name}`, n(c.x)), w: randomValues(`dw-${c.name}`, n(c.f)), dy: randomValues(`dr-${c.name}`, n(referenceOutShape(c, false))) };
      };

      it(`${path}: Conv2D and its input and filter gradients against the float64 reference ${c.name}`, () => {
        usePath(path);
        expectNativeConvMatchesReference(c, false, data());
      });

      if ((c.dilation ?? 1) === 1) {
        it(`${path}: gradients through tf.grads ${c.name}`, () => {
          usePath(path);
          expectNativeMatchesCpu(() => {
            const { x, w } = input(c);
            const y = tf.conv2d(x, w, c.stride, c.pad);
            const r = tf.tensor4d(randomValues(`dr-${c.name}`, y.size), y.shape);
            const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r));
            return tf.grads(loss)([x, w]);
          });
        });
      } else {
        it(`${path}: dilated backprop kernels match tfjs cpu on the zero-stuffed filter; tf.grads raises tfjs's error ${c.name}`, () => {
          usePath(path);
          expectNativeDilatedMatchesCpuStuffed(c, false, data());
          tf.setBackend('native');
          const { x, w } = input(c);
          const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation));
          expect(() => tf.tidy(() => tf.grads(loss)([x, w]))).toThrow(DILATED_GRADIENT_ERROR);
          tf.dispose([x, w]);
        });
      }
    }
  }

  it('by default Winograd takes a 3x3 conv from 256 output tiles (bit for bit the forced path) and leaves smaller ones direct', () => {
    tf.setBackend('native');
    const run = (setting: string | undefined, xs: [number, number, number, number]): Float32Array => {
      if (setting === undefined) delete process.env['DIFFIQA_CONV_WINOGRAD'];
      else process.env['DIFFIQA_CONV_WINOGRAD'] = setting;
      const x = tf.tensor4d(randomValues(`auto-x-${xs[1]}`, xs.reduce((a, b) => a * b, 1)), xs);
      const w = tf.tensor4d(randomValues('auto-w', 9 * 32 * 32), [3, 3, 32, 32]);
      const y = tf.conv2d(x, w, 1, 'same');
      const out = y.dataSync() as Float32Array;
      tf.dispose([x, w, y]);
      return out;
    };
    const big: [number, number, number, number] = [1, 32, 32, 32]; // 16 x 16 = 256 tiles
    const small: [number, number, number, number] = [1, 30, 32, 32]; // 15 x 16 = 240 tiles
    const winogradRuns = loadNativeAddon().info().isa !== 'portable'; // the project's ISA (vitest.config.ts)
    expect(run(undefined, big)).toEqual(run(winogradRuns ? '1' : '0', big));
    if (winogradRuns) expect(run(undefined, big)).not.toEqual(run('0', big)); // the two algorithms round differently
    expect(run(undefined, small)).toEqual(run('0', small));
  });
});
