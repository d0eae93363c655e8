/**
 * convBnNamed (inference conv with its BatchNorm, and PReLU, folded into one fused conv) against the separate
 * layers, and the ParamStore cache that keeps the folded weights until a parameter changes.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { batchNormNamed, convBnNamed, convNamed, preluNamed } from '../../src/nn/layers.js';
import { ParamStore } from '../../src/nn/params.js';
import { Rng } from '../../src/util/rng.js';

/** A conv + BN + PReLU block with BN statistics and affine parameters far from the identity. */
function block(): ParamStore {
  const p = new ParamStore(new Rng(7));
  p.addConv('conv', 3, 3, 5, 6, false);
  p.addBatchNorm('bn', 6);
  p.addConst('prelu.weight', [6], 0.2);
  const r = new Rng(8);
  const set = (name: string, f: () => number): void => void p.get(name).assign(tf.tensor1d(Array.from({ length: 6 }, f)));
  set('bn.running_mean', () => r.range(-1, 1));
  set('bn.running_var', () => r.range(0.2, 3));
  set('bn.weight', () => r.range(0.5, 2));
  set('bn.bias', () => r.range(-1, 1));
  return p;
}

function maxRelError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => (tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number) / (tf.max(tf.abs(b)).dataSync()[0] as number));
}

describe('convBnNamed', () => {
  const x = tf.tensor4d(new Rng(9).normalArray(2 * 7 * 8 * 5), [2, 7, 8, 5]);

  it('equals conv -> BatchNorm (running statistics) -> PReLU, and conv -> BatchNorm, within 1e-5', () => {
    const p = block();
    for (const stride of [1, 2]) {
      const separate = tf.tidy(() => batchNormNamed(p, 'bn', convNamed(p, 'conv', x, { stride, padding: 1 }), false));
      const folded = tf.tidy(() => convBnNamed(p, { conv: 'conv', bn: 'bn' }, x, { stride, padding: 1 }));
      expect(maxRelError(folded, separate)).toBeLessThan(1e-5);
      const withPrelu = tf.tidy(() => preluNamed(p, 'prelu', separate));
      const foldedPrelu = tf.tidy(() => convBnNamed(p, { conv: 'conv', bn: 'bn', prelu: 'prelu' }, x, { stride, padding: 1 }));
      expect(maxRelError(foldedPrelu, withPrelu)).toBeLessThan(1e-5);
      tf.dispose([separate, folded, withPrelu, foldedPrelu]);
    }
    p.dispose();
  });

  it('reuses the folded weights until a parameter is assigned, without leaking tensors', () => {
    const p = block();
    const run = (): Float32Array => tf.tidy(() => convBnNamed(p, { conv: 'conv', bn: 'bn' }, x, { padding: 1 }).dataSync() as Float32Array);
    const first = run();
    const tensors = tf.memory().numTensors;
    expect(Array.from(run())).toEqual(Array.from(first));
    expect(tf.memory().numTensors).toBe(tensors);
    // An update (as an optimiser step or a checkpoint load does) must be seen at once: double the BN scale.
    tf.tidy(() => p.get('bn.weight').assign(tf.mul(p.get('bn.weight'), 2)));
    const after = tf.tidy(() => batchNormNamed(p, 'bn', convNamed(p, 'conv', x, { padding: 1 }), false));
    const folded = tf.tidy(() => convBnNamed(p, { conv: 'conv', bn: 'bn' }, x, { padding: 1 }));
    expect(maxRelError(folded, after)).toBeLessThan(1e-5);
    tf.dispose([after, folded]);
    expect(tf.memory().numTensors).toBe(tensors); // the stale folded weights were disposed
    const before = tf.memory().numTensors;
    p.dispose();
    // The store's variables (conv weight, 4 BN tensors, PReLU) and its 2 cached tensors all go.
    expect(before - tf.memory().numTensors).toBe(6 + 2);
  });
});
