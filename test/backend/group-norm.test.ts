/**
 * groupNorm: the fused native kernel and the composite tfjs fallback against a float64 JS loop (relative error
 * max|got - ref| / max|ref| < 1e-5), and the native gradient against autodiff of the composite (< 1e-4: the
 * composite's own float32 rounding in the variance chain dominates that bound).
 */
import { describe, expect, it } from 'vitest';
import { groupNorm, groupNormComposite } from '../../src/backend/ops/group-norm.js';
import { tf } from '../../src/backend/tf.js';
import { ShapeError } from '../../src/util/errors.js';
import { randomValues, relativeError, runOn } from './compare.js';

interface GnCase {
  shape: [number, number, number, number];
  groups: number;
  offset: number;
}

const CASES: GnCase[] = [
  { shape: [2, 5, 3, 6], groups: 3, offset: 0 },
  { shape: [1, 4, 4, 8], groups: 1, offset: 2.5 },
  { shape: [3, 3, 5, 13], groups: 13, offset: -1 },
  { shape: [2, 7, 9, 32], groups: 8, offset: 0.3 },
];

/** float64 reference of PyTorch's GroupNorm on NHWC data. */
function referenceGroupNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, c: GnCase, eps: number): Float64Array {
  const [b, h, w, ch] = c.shape;
  const cg = ch / c.groups;
  const out = new Float64Array(x.length);
  for (let n = 0; n < b; n++) {
    for (let g = 0; g < c.groups; g++) {
      const idx: number[] = [];
      for (let p = 0; p < h * w; p++) for (let k = g * cg; k < (g + 1) * cg; k++) idx.push((n * h * w + p) * ch + k);
      const mean = idx.reduce((s, i) => s + (x[i] as number), 0) / idx.length;
      const variance = idx.reduce((s, i) => s + ((x[i] as number) - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const k = i % ch;
        out[i] = (((x[i] as number) - mean) / Math.sqrt(variance + eps)) * (gamma[k] as number) + (beta[k] as number);
      }
    }
  }
  return out;
}

function inputs(c: GnCase): { x: Float32Array; gamma: Float32Array; beta: Float32Array } {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const x = randomValues(`gn-x-${c.shape}`, n).map((v) => v * 1.7 + c.offset);
  return {
    x,
    gamma: randomValues(`gn-g-${c.shape}`, c.shape[3]).map((v) => 1 + 0.5 * v),
    beta: randomValues(`gn-b-${c.shape}`, c.shape[3]),
  };
}

describe('groupNorm', () => {
  for (const c of CASES) {
    const name = `[${c.shape}] groups ${c.groups}`;
    it(`native fused kernel and cpu composite match a float64 loop ${name}`, () => {
      const { x, gamma, beta } = inputs(c);
      const ref = referenceGroupNorm(x, gamma, beta, c, 1e-5);
      const run = () => groupNorm(tf.tensor4d(x, c.shape), tf.tensor1d(gamma), tf.tensor1d(beta), c.groups);
      const [native] = runOn('native', run);
      const [cpu] = runOn('cpu', run);
      expect(relativeError(native as Float32Array, ref)).toBeLessThan(1e-5);
      expect(relativeError(cpu as Float32Array, ref)).toBeLessThan(1e-5);
    });

    it(`native gradient matches autodiff of the composite ${name}`, () => {
      const { x, gamma, beta } = inputs(c);
      const r = randomValues(`gn-r-${c.shape}`, x.length);
      const grads = (op: typeof groupNorm) => () =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, g, b, c.groups), tf.tensor4d(r, c.shape))))([
          tf.tensor4d(x, c.shape), tf.tensor1d(gamma), tf.tensor1d(beta),
        ]);
      const native = runOn('native', grads(groupNorm));
      const composite = runOn('cpu', grads(groupNormComposite));
      native.forEach((g, i) => expect(relativeError(g, composite[i] as Float32Array)).toBeLessThan(1e-4));
    });
  }

  it('uses the fused kernel on native and leaves no tensors behind', () => {
    tf.setBackend('native');
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 4, 4, 8]);
    const g = tf.ones([8]);
    const b = tf.zeros([8]);
    const y = groupNorm(x, g, b, 4);
    const grads = tf.grads((a: tf.Tensor) => tf.sum(groupNorm(a, g, b, 4)))([x]);
    tf.dispose([x, g, b, y, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects channels not divisible by groups and mis-shaped gamma with ShapeError', () => {
    tf.setBackend('native');
    tf.tidy(() => {
      expect(() => groupNorm(tf.zeros([1, 2, 2, 6]), tf.ones([6]), tf.zeros([6]), 4)).toThrow(ShapeError);
      expect(() => groupNorm(tf.zeros([1, 2, 2, 6]), tf.ones([5]), tf.zeros([6]), 3)).toThrow(/gamma/);
    });
  });
});
