/**
 * 1,000 forward + backward + SGD steps of a small conv net on `native` (conv, fused conv, depthwise, GroupNorm,
 * matmul) keep tf.memory().numTensors constant and RSS flat (< 30 MB growth after warm-up): native kernels
 * allocate outputs in JS and free all their scratch.
 */
import { describe, expect, it } from 'vitest';
import { groupNorm } from '../../src/backend/ops/group-norm.js';
import { tf } from '../../src/backend/tf.js';
import { randomValues } from './compare.js';

function variable(name: string, shape: number[], scale: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.variable(tf.tensor(randomValues(name, n).map((v) => v * scale), shape), true, name);
}

describe('native backend memory', () => {
  it('1,000 training steps keep tensor count constant and RSS flat', () => {
    tf.setBackend('native');
    const w1 = variable('w1', [3, 3, 4, 8], 0.2);
    const b1 = variable('b1', [8], 0.1);
    const gamma = variable('gamma', [8], 0.1);
    const beta = variable('beta', [8], 0.1);
    const dw = variable('dw', [3, 3, 8, 1], 0.2);
    const w2 = variable('w2', [1, 1, 8, 8], 0.2);
    const fc = variable('fc', [8, 3], 0.2);
    const vars = [w1, b1, gamma, beta, dw, w2, fc];
    const x = tf.tensor4d(randomValues('mx', 2 * 12 * 12 * 4), [2, 12, 12, 4]);
    const target = tf.tensor2d(randomValues('mt', 6), [2, 3]);

    const step = (): number =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          let h = tf.fused.conv2d({ x, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', bias: b1, activation: 'relu' });
          h = groupNorm(h, gamma, beta, 2) as tf.Tensor4D;
          h = tf.depthwiseConv2d(h, dw as tf.Tensor4D, 2, 'same');
          h = tf.conv2d(h, w2 as tf.Tensor4D, 1, 'valid');
          const pooled = tf.mean(h, [1, 2]);
          return tf.mean(tf.square(tf.sub(tf.matMul(pooled, fc as tf.Tensor2D), target))) as tf.Scalar;
        }, vars);
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name] as tf.Tensor, 0.01)));
        return value.dataSync()[0] as number;
      });

    const first = step();
    for (let i = 0; i < 99; i++) step();
    const tensors = tf.memory().numTensors;
    const rss = process.memoryUsage().rss;
    let last = first;
    for (let i = 0; i < 900; i++) {
      last = step();
      if (i % 100 === 0) expect(tf.memory().numTensors).toBe(tensors);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    const growthMb = (process.memoryUsage().rss - rss) / 2 ** 20;
    expect(growthMb).toBeLessThan(30);
    expect(Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first); // the steps really trained something
    tf.dispose([...vars, x, target]);
  });
});
