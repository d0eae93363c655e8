/**
 * Native elementwise (Add, Sub, Multiply, RealDiv, SquaredDifference, Maximum, Minimum, unary maths) and Sum/Mean kernels against
 * tfjs cpu: relative error max|native - cpu| / max|cpu| < 1e-5, including broadcasting and keepDims.
 */
import { ClipByValue, getKernel } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { collapseBroadcast, broadcastStrides } from '../../src/backend/kernels/elementwise-kernels.js';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { reductionDims } from '../../src/backend/kernels/reduce-kernels.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const t = (name: string, shape: number[], shift = 0) =>
  tf.tensor(randomValues(name, size(shape)).map((v) => v + shift), shape);

const SHAPE_PAIRS: [number[], number[]][] = [
  [[3, 5, 7, 13], [3, 5, 7, 13]], // same shape
  [[3, 5, 7, 13], [13]], // per-channel (bias)
  [[3, 5, 7, 13], []], // scalar
  [[2, 1, 3, 1], [1, 4, 1, 5]], // both broadcast
  [[5, 1], [5, 9]], // broadcast along the inner axis
  [[64, 300], [64, 300]], // large enough to be split across threads
];

describe('native elementwise and reduction kernels match tfjs cpu', () => {
  for (const op of ['add', 'sub', 'mul', 'div', 'squaredDifference', 'maximum', 'minimum'] as const) {
    for (const [sa, sb] of SHAPE_PAIRS) {
      it(`${op} [${sa}] with [${sb}]`, () => {
        const before = countCpuFallbacks();
        expectNativeMatchesCpu(() => {
          const a = t(`${op}a${sa}`, sa);
          const b = op === 'div' ? tf.abs(t(`${op}b${sb}`, sb)).add(0.5) : t(`${op}b${sb}`, sb);
          return tf[op](a, b);
        });
        expect(countCpuFallbacks()).toBe(before);
      });
    }
  }

  for (const op of ['sigmoid', 'exp', 'square', 'sqrt', 'rsqrt', 'neg', 'relu', 'tanh', 'log', 'abs', 'erf'] as const) {
    it(`${op} on [4, 33, 130]`, () => {
      const positive = op === 'sqrt' || op === 'rsqrt' || op === 'log';
      expectNativeMatchesCpu(() => {
        const x = t(`u${op}`, [4, 33, 130]);
        return tf[op](positive ? tf.add(tf.abs(x), 0.01) : x);
      });
    });
  }

  it('exp, sigmoid and tanh keep overflow, underflow and NaN behaviour', () => {
    const xs = [-200, -90, -20, -1e-6, 0, 1e-6, 0.005, 3, 50, 88.5, 89, 200, Number.NaN];
    const [e, s, th] = [tf.exp, tf.sigmoid, tf.tanh].map((op) => {
      tf.setBackend('native');
      return tf.tidy(() => Array.from(op(tf.tensor1d(xs)).dataSync()));
    }) as [number[], number[], number[]];
    xs.forEach((x, i) => {
      const close = (got: number, want: number) =>
        Number.isNaN(want) ? Number.isNaN(got) : want === got || Math.abs(got - want) <= 1e-6 * Math.abs(want) + 1e-37;
      expect(close(e[i] as number, Math.fround(Math.exp(x)))).toBe(true);
      expect(close(s[i] as number, Math.fround(1 / (1 + Math.exp(-x))))).toBe(true);
      expect(close(th[i] as number, Math.fround(Math.tanh(x)))).toBe(true);
    });
  });

  it('maximum and minimum follow Math.max / Math.min on NaN and signed zeros', () => {
    tf.setBackend('native');
    const a = [Number.NaN, 1, -0, 0, -0, 3, -Infinity, 2];
    const b = [1, Number.NaN, 0, -0, -0, 3, 5, Infinity];
    const [mx, mn] = tf.tidy(() => [tf.maximum(tf.tensor1d(a), tf.tensor1d(b)), tf.minimum(tf.tensor1d(a), tf.tensor1d(b))].map((r) => Array.from(r.dataSync())));
    a.forEach((x, i) => {
      expect(Object.is(mx![i], Math.max(x, b[i]!)), `max(${x}, ${b[i]})`).toBe(true);
      expect(Object.is(mn![i], Math.min(x, b[i]!)), `min(${x}, ${b[i]})`).toBe(true);
    });
  });

  it('clipByValue runs on native and equals tfjs cpu bit for bit, NaN, infinities and signed zeros included', () => {
    const edge = [Number.NaN, -Infinity, Infinity, -0, 0, -1, 1, -1.0000001, 0.9999999, 3];
    const values = Float32Array.from([...edge, ...randomValues('clip', 2000).map((v) => 2 * v)]);
    const before = countCpuFallbacks();
    for (const [lo, hi] of [[-1, 1], [0, 0.5], [-0, 2]] as const) {
      const run = (backend: string): Float32Array => {
        tf.setBackend(backend);
        return tf.tidy(() => tf.clipByValue(tf.tensor1d(values), lo, hi).dataSync() as Float32Array);
      };
      const [got, want] = [run('native'), run('cpu')];
      want.forEach((w, i) => expect(Object.is(got[i], w), `clip(${values[i]}, ${lo}, ${hi})`).toBe(true));
    }
    expect(countCpuFallbacks()).toBe(before);
    // Its own kernel, not the cpu one that `native` copies for every kernel it does not implement.
    expect(getKernel(ClipByValue, 'native')?.kernelFunc).not.toBe(getKernel(ClipByValue, 'cpu')?.kernelFunc);
  });

  const REDUCTIONS: [number[], number | number[] | undefined, boolean][] = [
    [[3, 5, 7, 13], [1, 2], false],
    [[3, 5, 7, 13], [1, 2], true],
    [[3, 5, 7, 13], -1, false],
    [[3, 5, 7, 13], 0, true],
    [[3, 5, 7, 13], undefined, false],
    [[2, 40000], 1, false], // few outputs, long rows: split across threads
    [[40000, 3], 0, false],
  ];
  for (const [shape, axis, keepDims] of REDUCTIONS) {
    for (const op of ['sum', 'mean'] as const) {
      it(`${op} of [${shape}] over ${JSON.stringify(axis)} keepDims=${keepDims}`, () => {
        const before = countCpuFallbacks();
        expectNativeMatchesCpu(() => tf[op](t(`r${shape}`, shape, 0.3), axis, keepDims));
        expect(countCpuFallbacks()).toBe(before);
      });
    }
  }

  it('non-consecutive reduction axes fall back to cpu and still match', () => {
    const before = countCpuFallbacks();
    expectNativeMatchesCpu(() => tf.sum(t('nc', [3, 4, 5]), [0, 2]));
    expect(countCpuFallbacks()).toBe(before + 1);
  });

  it('gradients of an elementwise chain through tf.grads', () => {
    expectNativeMatchesCpu(() => {
      const x = t('gx', [2, 6, 6, 8]);
      const b = t('gb', [8]);
      const f = (a: tf.Tensor, c: tf.Tensor) => tf.mean(tf.mul(tf.sigmoid(tf.add(a, c)), tf.sub(a, tf.square(c))));
      return tf.grads(f)([x, b]);
    });
  });

  it('collapses broadcast shapes into the fewest dimensions', () => {
    const out = [3, 5, 7, 13];
    expect(collapseBroadcast(out, broadcastStrides(out, out), broadcastStrides([13], out))).toEqual({
      shape: [105, 13], as: [13, 1], bs: [0, 1],
    });
    expect(collapseBroadcast(out, broadcastStrides(out, out), broadcastStrides(out, out)).shape).toEqual([1365]);
    expect(reductionDims([3, 5, 7, 13], [1, 2])).toEqual([3, 35, 13]);
    expect(reductionDims([3, 5, 7, 13], [0, 2])).toBeNull();
  });
});
