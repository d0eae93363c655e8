/**
 * Native Prelu, Greater, Select and FusedBatchNorm against tfjs cpu. Prelu/Greater/Select are exact (one float
 * product or a choice); FusedBatchNorm repeats tfjs cpu's double formula in its order, so it is exact too. The
 * gradient of a train-mode BatchNorm + PReLU block (as in the FR backbones) within 1e-5; the Prelu gradient
 * (one native PreluGrad kernel on `native`, tfjs's own gradient on cpu) for channel-vector, [1,1,C] and scalar
 * alphas, inputs with exact zeros (tfjs's mask is x > 0), channel counts 5..70, batch 1 and > 1.
 */
import { describe, expect, it } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues, runOn } from './compare.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const t = (name: string, shape: number[]) => tf.tensor(randomValues(name, size(shape)), shape);

function expectExact(fn: () => tf.Tensor | tf.Tensor[]): void {
  const before = countCpuFallbacks();
  const cpu = runOn('cpu', fn);
  const native = runOn('native', fn);
  expect(countCpuFallbacks()).toBe(before);
  cpu.forEach((ref, i) => {
    const got = native[i] as Float32Array;
    expect(got.constructor).toBe(ref.constructor);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });
}

describe('native prelu and batch-norm kernels match tfjs cpu', () => {
  it('prelu with a channel vector, a scalar and a [1,1,C] alpha', () => {
    for (const shape of [[2, 5, 7, 13], [3, 200, 64], [9]]) {
      const c = shape[shape.length - 1] as number;
      expectExact(() => tf.prelu(t(`x${shape}`, shape), t(`a${shape}`, [c])));
      expectExact(() => tf.prelu(t(`x${shape}`, shape), tf.scalar(0.25)));
      if (shape.length === 4) expectExact(() => tf.prelu(t(`x${shape}`, shape), t(`b${shape}`, [1, 1, c])));
    }
  });

  it('greater against a scalar and a same-shape tensor; select on float32 and int32', () => {
    expectExact(() => tf.greater(t('g1', [4, 9, 9, 5]), 0));
    expectExact(() => tf.greater(t('g2', [4, 9, 9, 5]), t('g3', [4, 9, 9, 5])));
    expectExact(() => tf.where(tf.greater(t('s0', [3, 70, 11]), 0), t('s1', [3, 70, 11]), t('s2', [3, 70, 11])));
    expectExact(() => tf.where(tf.greater(t('s3', [5, 6]), 0), tf.range(0, 30, 1, 'int32').reshape([5, 6]), tf.fill([5, 6], -3, 'int32')));
  });

  it('batchNorm with [C] and [1,1,1,C] parameters, with and without scale/offset', () => {
    const shape = [4, 9, 11, 6];
    const pos = (name: string, s: number[]) => tf.add(tf.abs(t(name, s)), 0.1);
    for (const ps of [[6], [1, 1, 1, 6]]) {
      expectExact(() => tf.batchNorm(t('bx', shape), t('bm', ps), pos('bv', ps), t('bo', ps), t('bs', ps), 1e-5));
      expectExact(() => tf.batchNorm(t('bx', shape), t('bm', ps), pos('bv', ps)));
      expectExact(() => tf.batchNorm(t('bx', shape), t('bm', ps), pos('bv', ps), undefined, t('bs', ps), 1e-3));
    }
  });

  const PRELU_GRAD_CASES: [string, number[], number[]][] = [
    ['[2,5,7,13] alpha [13]', [2, 5, 7, 13], [13]],
    ['[1,9,9,32] alpha [32]', [1, 9, 9, 32], [32]],
    ['[3,4,5,70] alpha [1,1,70]', [3, 4, 5, 70], [1, 1, 70]],
    ['[4,200,16] alpha []', [4, 200, 16], []],
    ['[7,13] alpha [1] (partial last row of one weight)', [7, 13], [1]],
    ['[2,3,3,5] alpha [5]', [2, 3, 3, 5], [5]],
  ];
  for (const [name, xs, as] of PRELU_GRAD_CASES) {
    it(`Prelu gradient (dx, dalpha) ${name}`, () => {
      const make = () => {
        // Every third value exactly 0: the gradient takes the alpha branch there (mask x > 0).
        const xv = randomValues(`px${name}`, size(xs)).map((v, i) => (i % 3 === 0 ? 0 : v));
        const x = tf.tensor(xv, xs);
        const alpha = as.length === 0 ? tf.scalar(0.3) : tf.add(tf.mul(t(`pa${name}`, as), 0.2), 0.25);
        const r = t(`pr${name}`, xs);
        return { x, alpha, r };
      };
      const f = (a: tf.Tensor, al: tf.Tensor, r: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, al), r));
      expectNativeMatchesCpu(() => {
        const { x, alpha, r } = make();
        return tf.grads((a: tf.Tensor, al: tf.Tensor) => f(a, al, r))([x, alpha]);
      }, 1e-5);
    });
  }

  it('on native the Prelu gradient is one PreluGrad kernel (no Greater/Select/ZerosLike passes)', async () => {
    tf.setBackend('native');
    const x = t('kx', [2, 6, 6, 16]);
    const alpha = t('ka', [16]);
    const info = await tf.profile(() => {
      const g = tf.grads((a: tf.Tensor, al: tf.Tensor) => tf.sum(tf.prelu(a, al)))([x, alpha]);
      tf.dispose(g);
    });
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('DiffiqaPreluGrad');
    for (const n of ['Greater', 'Select', 'ZerosLike']) expect(names).not.toContain(n);
    tf.dispose([x, alpha]);
  });

  it('gradients of a train-mode BatchNorm + PReLU block', () => {
    expectNativeMatchesCpu(() => {
      const x = t('fx', [4, 7, 7, 8]);
      const gamma = t('fg', [8]);
      const beta = t('fb', [8]);
      const alpha = t('fa', [8]);
      const w = t('fw', [4, 7, 7, 8]);
      const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor, al: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.mul(tf.prelu(tf.batchNorm(a, mean, variance, b, g, 1e-5), al), w));
      };
      return tf.grads(f)([x, gamma, beta, alpha]);
    }, 1e-5);
  });
});
