/**
 * Native Prelu, Greater, Select and FusedBatchNorm against tfjs cpu. Prelu/Greater/Select are exact (one float
 * product or a choice); FusedBatchNorm repeats tfjs cpu's double formula in its order, so it is exact too. The
 * gradient of a train-mode BatchNorm + PReLU block (as in the FR backbones) within 1e-5.
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
