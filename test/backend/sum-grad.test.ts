/**
 * The Sum gradient on `native` (src/backend/gradients/sum-grad.ts tiles dy instead of multiplying it by ones): the
 * same bits as tfjs's own gradient on cpu, for every reduction of a rank-4 tensor that a loss or a bias gradient
 * takes, with and without keepDims; and it is what runs (no ones-sized Multiply in the backward).
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { randomValues, runOn } from './compare.js';

const SHAPE = [2, 5, 7, 3];
const gradOfSum = (axis: number | number[] | undefined, keepDims: boolean) => () => {
  const x = tf.tensor4d(randomValues('sum-grad-x', 210), SHAPE as [number, number, number, number]);
  const w = tf.tensor4d(randomValues('sum-grad-w', 210), SHAPE as [number, number, number, number]);
  // A weighted sum, so that the upstream gradient of the reduced tensor is not all ones.
  return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sum(tf.mul(v, w), axis, keepDims), 3.5)))(x);
};

describe('Sum gradient on native', () => {
  for (const axis of [undefined, 0, 3, -1, [0, 1, 2], [1, 2]] as const) {
    for (const keepDims of [false, true]) {
      it(`axis ${JSON.stringify(axis) ?? 'all'}, keepDims ${keepDims}: equals tfjs's gradient on cpu bit for bit`, () => {
        const f = gradOfSum(axis as number | number[] | undefined, keepDims);
        expect(runOn('native', f)).toEqual(runOn('cpu', f));
      });
    }
  }

  it('tiles dy: the backward runs no Multiply of x\'s size against ones', async () => {
    tf.setBackend('native');
    const x = tf.tensor4d(randomValues('sum-grad-p', 210), SHAPE as [number, number, number, number]);
    const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(v, [1, 2]))(x));
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain('Tile');
    expect(names).not.toContain('Multiply');
    x.dispose();
  });
});
