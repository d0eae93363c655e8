/**
 * Native Conv2D / FusedConv2D / Conv2DBackpropInput / Conv2DBackpropFilter against tfjs cpu on the same seeded
 * inputs: relative error max|native - cpu| / max|cpu| < 1e-5. Shapes are odd on purpose (odd spatial sizes,
 * channel counts 3, 5, 13 that are not multiples of the SIMD width), with strides 1/2, same/valid/explicit padding,
 * dilation 2 and batches 1 and 3; wide inputs (144-300 channels) exercise the im2col GEMM path.
 * Every case also runs the forward kernel and both backprop kernels (dilation passed as their `dilations`
 * attribute) against an independent float64 reference (conv-reference.ts). tfjs cpu's backprop kernels ignore
 * dilation, so the dilated backprop cases compare with them through the zero-stuffed filter instead; tf.grads of a
 * dilated conv2d is refused by tfjs-core's gradient on every backend, and the test pins that error.
 */
import { describe, expect, it } from 'vitest';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';
import { DILATED_GRADIENT_ERROR, expectNativeConvMatchesReference, expectNativeDilatedMatchesCpuStuffed, referenceOutShape } from './conv-check.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
  dilation: number;
}

const EXPLICIT: Pad = [[0, 0], [1, 2], [2, 0], [0, 0]];
const CASES: ConvCase[] = [
  { name: '3x3 s1 same b1 c3->5', x: [1, 7, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: 'same', dilation: 1 },
  { name: '3x3 s2 same b3 c5->13', x: [3, 9, 7, 5], f: [3, 3, 5, 13], stride: 2, pad: 'same', dilation: 1 },
  { name: '3x3 s2 valid b3 c13->3', x: [3, 9, 8, 13], f: [3, 3, 13, 3], stride: 2, pad: 'valid', dilation: 1 },
  { name: '2x3 s1 explicit b1 c5->13', x: [1, 6, 7, 5], f: [2, 3, 5, 13], stride: 1, pad: EXPLICIT, dilation: 1 },
  { name: '3x3 s2 explicit b3 c3->5', x: [3, 7, 7, 3], f: [3, 3, 3, 5], stride: 2, pad: EXPLICIT, dilation: 1 },
  { name: '3x3 dilation 2 same b3 c5->5', x: [3, 9, 9, 5], f: [3, 3, 5, 5], stride: 1, pad: 'same', dilation: 2 },
  { name: '3x3 dilation 2 valid b1 c13->13', x: [1, 9, 11, 13], f: [3, 3, 13, 13], stride: 1, pad: 'valid', dilation: 2 },
  { name: '1x1 s1 valid b3 c13->5 (direct GEMM)', x: [3, 5, 7, 13], f: [1, 1, 13, 5], stride: 1, pad: 'valid', dilation: 1 },
  { name: '1x1 s2 same b1 c5->3', x: [1, 7, 5, 5], f: [1, 1, 5, 3], stride: 2, pad: 'same', dilation: 1 },
  { name: '5x5 s1 same b1 c40->37 (multi-panel GEMM)', x: [1, 11, 13, 40], f: [5, 5, 40, 37], stride: 1, pad: 'same', dilation: 1 },
  // Wide inputs take the GEMM path with im2col panels interleaved straight from NHWC, whose depth blocks (256)
  // start and end inside a filter tap's channel run: 300 channels never align, 256 with stride 2 and batch 2 spans
  // image edges, dilation 2 strides the taps apart.
  { name: '3x3 s2 same b2 c256->40 (im2col blocks across taps)', x: [2, 9, 7, 256], f: [3, 3, 256, 40], stride: 2, pad: 'same', dilation: 1 },
  { name: '3x3 s1 explicit b1 c300->33 (unaligned channel runs)', x: [1, 7, 9, 300], f: [3, 3, 300, 33], stride: 1, pad: EXPLICIT, dilation: 1 },
  { name: '3x3 dilation 2 same b1 c144->20 (GEMM path)', x: [1, 9, 9, 144], f: [3, 3, 144, 20], stride: 1, pad: 'same', dilation: 2 },
  // 2,048 output pixels: the filter gradient sums two row ranges' partials (orderedReduce); fewer than 1,024 rows (the
  // cases above) run one GEMM. 80 output channels keep it off the AVX-512 direct kernel.
  { name: '3x3 s1 same b2 32x32 c8->80 (filter gradient over row ranges)', x: [2, 32, 32, 8], f: [3, 3, 8, 80], stride: 1, pad: 'same', dilation: 1 },
];

function tensors(c: ConvCase): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    x: tf.tensor4d(randomValues(`x-${c.name}`, size(c.x)), c.x),
    w: tf.tensor4d(randomValues(`w-${c.name}`, size(c.f)), c.f),
  };
}

function outShape(c: ConvCase): [number, number, number, number] {
  return tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation).shape;
}

describe('native conv2d kernels match tfjs cpu', () => {
  it('the native backend is registered', () => {
    expect(loadNativeAddon().info().threads).toBeGreaterThanOrEqual(1);
    expect(tf.findBackendFactory('native')).not.toBeNull();
  });

  for (const c of CASES) {
    it(`Conv2D ${c.name}`, () => {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => {
        const { x, w } = tensors(c);
        return tf.conv2d(x, w, c.stride, c.pad, 'NHWC', c.dilation);
      });
      expect(countCpuFallbacks()).toBe(before);
    });

    const data = () => {
      const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
      return { x: randomValues(`x-${c.name}`, size(c.x)), w: randomValues(`w-${c.name}`, size(c.f)), dy: randomValues(`dy-${c.name}`, size(referenceOutShape(c, false))) };
    };

    it(`Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter against the float64 reference ${c.name}`, () => {
      expectNativeConvMatchesReference(c, false, data());
    });

    if (c.dilation === 1) {
      it(`Conv2DBackpropInput and Conv2DBackpropFilter ${c.name}`, () => {
        const before = countCpuFallbacks();
        expectNativeMatchesCpu(() => {
          const { x, w } = tensors(c);
          const shape = outShape(c);
          const dy = tf.tensor4d(randomValues(`dy-${c.name}`, shape.reduce((a, b) => a * b, 1)), shape);
          const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
          const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: c.x } as never);
          const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as never);
          return [dx as tf.Tensor, dw as tf.Tensor];
        });
        expect(countCpuFallbacks()).toBe(before);
      });

      it(`gradients through tf.grads ${c.name}`, () => {
        expectNativeMatchesCpu(() => {
          const { x, w } = tensors(c);
          const shape = outShape(c);
          const r = tf.tensor4d(randomValues(`r-${c.name}`, shape.reduce((a, b) => a * b, 1)), shape);
          const loss = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation), r));
          return tf.grads(loss)([x, w]);
        });
      });
    } else {
      it(`dilated Conv2DBackpropInput/Filter match tfjs cpu on the zero-stuffed filter ${c.name}`, () => {
        expectNativeDilatedMatchesCpuStuffed(c, false, data());
      });

      it(`tf.grads of a dilated conv2d raises tfjs's clear error on native and cpu ${c.name}`, () => {
        for (const backend of ['native', 'cpu']) {
          tf.setBackend(backend);
          const { x, w } = tensors(c);
          const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation));
          expect(() => tf.tidy(() => tf.grads(loss)([x, w])), backend).toThrow(DILATED_GRADIENT_ERROR);
          tf.dispose([x, w]);
        }
      });
    }
  }

  const activations = ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'] as const;
  for (const activation of activations) {
    it(`FusedConv2D with bias and ${activation}`, () => {
      const c = CASES[1] as ConvCase;
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => {
        const { x, w } = tensors(c);
        const cout = c.f[3];
        const bias = tf.tensor1d(randomValues('bias', cout));
        const alpha = tf.tensor1d(randomValues('alpha', cout));
        return tf.fused.conv2d({
          x, filter: w, strides: c.stride, pad: c.pad, bias, activation,
          preluActivationWeights: activation === 'prelu' ? alpha : undefined,
          leakyreluAlpha: 0.13,
        });
      });
      expect(countCpuFallbacks()).toBe(before);
    });
  }

  it('FusedConv2D gradient (relu, bias) through tf.grads', () => {
    const c = CASES[2] as ConvCase;
    expectNativeMatchesCpu(() => {
      const { x, w } = tensors(c);
      const bias = tf.tensor1d(randomValues('bias', c.f[3]));
      const loss = (a: tf.Tensor, b: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: bb, activation: 'relu' })));
      return tf.grads(loss)([x, w, bias]);
    });
  });

  it('switches instruction set in process (avx512, avx2, portable), each agreeing with cpu', () => {
    const addon = loadNativeAddon();
    const before = addon.info().isa; // the project's DIFFIQA_ISA (vitest.config.ts), restored for the later tests
    try {
      const ran: string[] = [];
      for (const isa of ['avx512', 'avx2', 'portable']) {
        // setIsa answers with the instruction set now in use: a CPU without `isa` keeps another one, and running that
        // twice would look like coverage. Such a path is reported as not run.
        if (addon.setIsa(isa) !== isa) {
          console.log(`instruction set ${isa}: not run (this CPU lacks it)`);
          continue;
        }
        expect(addon.info().isa).toBe(isa);
        ran.push(isa);
        const c = CASES[9] as ConvCase;
        expectNativeMatchesCpu(() => {
          const { x, w } = tensors(c);
          return tf.conv2d(x, w, c.stride, c.pad);
        });
      }
      expect(ran).toContain('portable'); // every x86-64 CPU runs the portable path
    } finally {
      addon.setIsa(before);
    }
  });

  it('falls back to the cpu kernel for what it does not handle (NCHW) and still matches', () => {
    const before = countCpuFallbacks();
    expectNativeMatchesCpu(() => {
      const x = tf.tensor4d(randomValues('nchw', 2 * 3 * 5 * 6), [2, 3, 5, 6]);
      const w = tf.tensor4d(randomValues('nchw-w', 3 * 3 * 3 * 4), [3, 3, 3, 4]);
      return tf.conv2d(x, w, 1, 'same', 'NCHW');
    });
    expect(countCpuFallbacks()).toBe(before + 1);
  });

  it('turns bad arguments into a JS error instead of crashing', () => {
    const addon = loadNativeAddon();
    const geom = [1, 4, 4, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1];
    expect(() => addon.conv2d(new Float32Array(10), new Float32Array(54), new Float32Array(32), geom)).toThrow(/x: expected 48/);
    expect(() => addon.conv2d(new Float32Array(48), new Float32Array(54), new Float32Array(32), geom.slice(0, 3))).toThrow(/geometry/);
  });
});
