/**
 * The fused Adam update (src/backend/ops/adam.ts) on `native` against its tfjs composite on cpu: the same float32
 * operations in the same order, so results agree to rounding (relative 1e-6; the composite on cpu rounds each
 * op's double result to float32, which can differ in the last bit), with and without gradient clipping scale,
 * sizes below and above the thread pool's chunk, several steps chained. The native kernel must actually run.
 */
import { describe, expect, it } from 'vitest';
import { adamUpdate, adamUpdateComposite } from '../../src/backend/ops/adam.js';
import type { AdamUpdateAttrs } from '../../src/backend/kernel-names.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';

describe('fused Adam update', () => {
  for (const [shape, gradScale] of [[[37], 1], [[300, 70], 0.37], [[5, 3, 3, 32], 1]] as [number[], number][]) {
    it(`matches the composite for [${shape}] with gradScale ${gradScale}, over 3 chained steps`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      expectNativeMatchesCpu(() => {
        let p = tf.tensor(randomValues(`ap${shape}`, n), shape);
        let m = tf.zeros(shape);
        let v = tf.zeros(shape);
        const outs: tf.Tensor[] = [];
        for (let t = 1; t <= 3; t++) {
          const g = tf.tensor(randomValues(`ag${shape}${t}`, n), shape);
          const a: AdamUpdateAttrs = {
            gradScale, beta1: 0.9, beta2: 0.999, bc2: Math.sqrt(1 - 0.999 ** t), eps: 1e-8, stepSize: 1e-3 / (1 - 0.9 ** t),
          };
          [p, m, v] = adamUpdate(p, g, m, v, a);
          outs.push(p, m, v);
        }
        return outs;
      }, 1e-6);
    });
  }

  it('runs one DiffiqaAdamUpdate kernel on native and equals the composite there too', async () => {
    tf.setBackend('native');
    const shape = [64, 33];
    const [p, g, m, v] = ['p', 'g', 'm', 'v'].map((k) => tf.tensor(randomValues(`b${k}`, 64 * 33), shape));
    const vv = tf.abs(v as tf.Tensor);
    const a: AdamUpdateAttrs = { gradScale: 0.5, beta1: 0.9, beta2: 0.999, bc2: 0.1, eps: 1e-8, stepSize: 2e-3 };
    const info = await tf.profile(() => tf.dispose(adamUpdate(p as tf.Tensor, g as tf.Tensor, m as tf.Tensor, vv, a)));
    expect(info.kernels.map((k) => k.name)).toEqual(['DiffiqaAdamUpdate']);
    const fused = adamUpdate(p as tf.Tensor, g as tf.Tensor, m as tf.Tensor, vv, a);
    const comp = adamUpdateComposite(p as tf.Tensor, g as tf.Tensor, m as tf.Tensor, vv, a);
    // On native the composite runs the native elementwise kernels: plain float32 ops, so bit-identical.
    fused.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from((comp[i] as tf.Tensor).dataSync())));
    tf.dispose([p, g, m, v, vv, ...fused, ...comp] as tf.Tensor[]);
  });
});
