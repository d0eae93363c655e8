/**
 * Native DepthwiseConv2dNative (+ Fused, BackpropInput, BackpropFilter) against tfjs cpu: relative error
 * max|native - cpu| / max|cpu| < 1e-5, channel multipliers 1 and 2, odd sizes, channel counts 3, 5, 13, and for
 * multiplier 1 (the AVX-512 register-tiled kernels) 20, 32, 48, 70 and 128 (one to four 16-wide vectors, masked
 * tails, two 64-channel chunks), strides 1 and 2, numeric/explicit/same/valid padding, batch 1 and > 1; the fused
 * kernel with every activation (bias/ReLU/PReLU in registers, the others as a pass); subnormal-producing data.
 * Every case also runs the forward kernel and both backprop kernels against an independent float64 reference
 * (conv-reference.ts). tfjs cpu's backprop kernels ignore dilation, so the dilated backprop cases compare with them
 * through the zero-stuffed filter instead; tf.grads of a dilated depthwise conv is refused by tfjs-core's gradient on
 * every backend, and the test pins that error.
 */
import { describe, expect, it } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';
import { DILATED_GRADIENT_ERROR, expectNativeConvMatchesReference, expectNativeDilatedMatchesCpuStuffed, referenceOutShape } from './conv-check.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface DwCase {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
  dilation: number;
}

const CASES: DwCase[] = [
  { name: '3x3 s1 same b1 c5 m1', x: [1, 7, 9, 5], f: [3, 3, 5, 1], stride: 1, pad: 'same', dilation: 1 },
  { name: '3x3 s2 same b3 c13 m1', x: [3, 9, 7, 13], f: [3, 3, 13, 1], stride: 2, pad: 'same', dilation: 1 },
  { name: '3x3 s2 valid b3 c3 m2', x: [3, 9, 8, 3], f: [3, 3, 3, 2], stride: 2, pad: 'valid', dilation: 1 },
  { name: '2x3 s1 explicit b1 c5 m2', x: [1, 6, 7, 5], f: [2, 3, 5, 2], stride: 1, pad: [[0, 0], [1, 2], [2, 0], [0, 0]], dilation: 1 },
  { name: '3x3 dilation 2 same b3 c13 m1', x: [3, 9, 9, 13], f: [3, 3, 13, 1], stride: 1, pad: 'same', dilation: 2 },
  { name: '3x3 s2 same b1 c70 m1 (64-channel blocks)', x: [1, 7, 9, 70], f: [3, 3, 70, 1], stride: 2, pad: 'same', dilation: 1 },
  { name: '3x3 dilation 2 valid b1 c3 m3', x: [1, 9, 11, 3], f: [3, 3, 3, 3], stride: 1, pad: 'valid', dilation: 2 },
  { name: 'mobileface 3x3 s2 pad 1 b2 c32 (even input)', x: [2, 16, 16, 32], f: [3, 3, 32, 1], stride: 2, pad: 1, dilation: 1 },
  { name: '3x3 s2 pad 1 b3 c32 odd input', x: [3, 15, 17, 32], f: [3, 3, 32, 1], stride: 2, pad: 1, dilation: 1 },
  { name: '3x3 s1 pad 1 b2 c48 odd sizes (wide tiles + borders)', x: [2, 9, 37, 48], f: [3, 3, 48, 1], stride: 1, pad: 1, dilation: 1 },
  { name: '3x3 s1 explicit asymmetric b1 c128 (two chunks)', x: [1, 7, 8, 128], f: [3, 3, 128, 1], stride: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]], dilation: 1 },
  { name: '3x3 s2 valid b2 c70 (64 + masked 6)', x: [2, 11, 10, 70], f: [3, 3, 70, 1], stride: 2, pad: 'valid', dilation: 1 },
  { name: '5x5 s2 same b2 c20 (filter wider than the borders)', x: [2, 9, 6, 20], f: [5, 5, 20, 1], stride: 2, pad: 'same', dilation: 1 },
  { name: '3x3 s1 pad 3 b1 c20 (pixels with no taps)', x: [1, 4, 5, 20], f: [3, 3, 20, 1], stride: 1, pad: [[0, 0], [3, 3], [3, 3], [0, 0]], dilation: 1 },
  { name: '3x3 s1 same b2 c16 dilation 2', x: [2, 9, 13, 16], f: [3, 3, 16, 1], stride: 1, pad: 'same', dilation: 2 },
];

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function tensors(c: DwCase): { x: tf.Tensor4D; w: tf.Tensor4D } {
  return {
    x: tf.tensor4d(randomValues(`x-${c.name}`, size(c.x)), c.x),
    w: tf.tensor4d(randomValues(`w-${c.name}`, size(c.f)), c.f),
  };
}

function forward(c: DwCase, x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.depthwiseConv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation);
}

describe('native depthwise kernels match tfjs cpu', () => {
  for (const c of CASES) {
    it(`DepthwiseConv2dNative ${c.name}`, () => {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => {
        const { x, w } = tensors(c);
        return forward(c, x, w);
      });
      expect(countCpuFallbacks()).toBe(before);
    });

    const data = () => ({ x: randomValues(`x-${c.name}`, size(c.x)), w: randomValues(`w-${c.name}`, size(c.f)), dy: randomValues(`dy-${c.name}`, size(referenceOutShape(c, true))) });

    it(`DepthwiseConv2dNative and its BackpropInput/Filter against the float64 reference ${c.name}`, () => {
      expectNativeConvMatchesReference(c, true, data());
    });

    if (c.dilation === 1) {
      it(`DepthwiseConv2dNativeBackpropInput/Filter ${c.name}`, () => {
        const before = countCpuFallbacks();
        expectNativeMatchesCpu(() => {
          const { x, w } = tensors(c);
          const shape = forward(c, tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D).shape;
          const dy = tf.tensor4d(randomValues(`dy-${c.name}`, size(shape)), shape);
          const attrs = { strides: c.stride, pad: c.pad, dilations: c.dilation, dimRoundingMode: undefined };
          const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never);
          const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as never);
          return [dx as tf.Tensor, dw as tf.Tensor];
        });
        expect(countCpuFallbacks()).toBe(before);
      });

      it(`gradients through tf.grads ${c.name}`, () => {
        expectNativeMatchesCpu(() => {
          const { x, w } = tensors(c);
          const shape = forward(c, x, w).shape;
          const r = tf.tensor4d(randomValues(`r-${c.name}`, size(shape)), shape);
          return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(forward(c, a as tf.Tensor4D, b as tf.Tensor4D), r)))([x, w]);
        });
      });
    } else {
      it(`dilated DepthwiseConv2dNativeBackpropInput/Filter match tfjs cpu on the zero-stuffed filter ${c.name}`, () => {
        expectNativeDilatedMatchesCpuStuffed(c, true, data());
      });

      it(`tf.grads of a dilated depthwise conv raises tfjs's clear error on native and cpu ${c.name}`, () => {
        for (const backend of ['native', 'cpu']) {
          tf.setBackend(backend);
          const { x, w } = tensors(c);
          const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(forward(c, a as tf.Tensor4D, b as tf.Tensor4D));
          expect(() => tf.tidy(() => tf.grads(loss)([x, w])), backend).toThrow(DILATED_GRADIENT_ERROR);
          tf.dispose([x, w]);
        }
      });
    }
  }

  for (const c of CASES.filter((k) => k.dilation !== 1)) {
    it(`dilated backprop kernels are the adjoint of the forward (float64 inner products) ${c.name}`, () => {
      tf.setBackend('native');
      tf.tidy(() => {
        const { x, w } = tensors(c);
        const y = forward(c, x, w);
        const dy = tf.tensor4d(randomValues(`dy-${c.name}`, y.size), y.shape);
        const attrs = { strides: c.stride, pad: c.pad, dilations: c.dilation, dimRoundingMode: undefined };
        const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
        const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as never) as tf.Tensor;
        // <y, dy> = <x, dx> = <w, dw> for the exact adjoint; compare relative to the sum of |terms|.
        const dot = (a: tf.Tensor, b: tf.Tensor): [number, number] => {
          const av = a.dataSync();
          const bv = b.dataSync();
          let s = 0;
          let m = 0;
          for (let i = 0; i < av.length; i++) {
            s += (av[i] as number) * (bv[i] as number);
            m += Math.abs((av[i] as number) * (bv[i] as number));
          }
          return [s, m];
        };
        const [ref, scale] = dot(y, dy);
        expect(Math.abs(dot(x, dx)[0] - ref) / scale).toBeLessThan(1e-5);
        expect(Math.abs(dot(w, dw)[0] - ref) / scale).toBeLessThan(1e-5);
      });
    });
  }

  const M1 = CASES.filter((k) => k.f[3] === 1);
  for (const activation of ['linear', 'relu', 'prelu', 'elu'] as const) {
    it(`FusedDepthwiseConv2D multiplier 1, ${activation}, with and without bias, every multiplier-1 case`, () => {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() =>
        M1.flatMap((c) => {
          const { x, w } = tensors(c);
          const cout = c.f[2];
          const alpha = activation === 'prelu' ? tf.tensor1d(randomValues(`a-${c.name}`, cout)) : undefined;
          const bias = tf.tensor1d(randomValues(`b-${c.name}`, cout));
          const args = { x, filter: w, strides: c.stride, pad: c.pad as 'valid', dilations: c.dilation, activation, preluActivationWeights: alpha };
          const outs = [tf.fused.depthwiseConv2d(args), tf.fused.depthwiseConv2d({ ...args, bias })];
          if (activation === 'prelu') outs.push(tf.fused.depthwiseConv2d({ ...args, preluActivationWeights: tf.scalar(0.25), bias: tf.scalar(0.1) }));
          return outs;
        }),
      );
      expect(countCpuFallbacks()).toBe(before);
    });
  }

  it('subnormal products and sums (flushed to zero natively) stay within the tolerance; JS maths keeps subnormals', () => {
    const c = CASES.find((k) => k.name.startsWith('mobileface')) as DwCase;
    expectNativeMatchesCpu(() => {
      const { x, w } = tensors(c);
      // Channels with 1e-26 weights (as in mobileface's checkpoint) on 1e-13 inputs make subnormal products.
      const tiny = tf.mul(w, tf.tensor1d(Array.from({ length: c.f[2] }, (_, i) => (i % 2 === 0 ? 1e-26 : 1))).reshape([1, 1, c.f[2], 1]));
      const y = tf.fused.depthwiseConv2d({ x: tf.mul(x, 1e-13) as tf.Tensor4D, filter: tiny as tf.Tensor4D, strides: c.stride, pad: c.pad as 'valid' });
      return [y, tf.mul(y, 1e30)];
    });
    // The native kernels restore the JS thread's floating-point state: float64 and float32 subnormals survive.
    const tiny64 = 1e-310;
    expect(tiny64 * 0.5).toBeGreaterThan(0);
    expect(Math.fround(1e-40)).toBeGreaterThan(0);
  });

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'] as const) {
    it(`FusedDepthwiseConv2D with bias and ${activation}`, () => {
      const c = CASES[2] as DwCase;
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => {
        const { x, w } = tensors(c);
        const cout = c.f[2] * c.f[3];
        return tf.fused.depthwiseConv2d({
          x, filter: w, strides: c.stride, pad: c.pad as 'valid', bias: tf.tensor1d(randomValues('b', cout)), activation,
          preluActivationWeights: activation === 'prelu' ? tf.tensor1d(randomValues('a', cout)) : undefined,
          leakyreluAlpha: 0.3,
        });
      });
      expect(countCpuFallbacks()).toBe(before);
    });
  }
});
