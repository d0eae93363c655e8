import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { loadMobilefaceGraph } from '../../src/fr/mobileface-graph.js';
import { createMobilefaceBackbone } from '../../src/fr/mobileface.js';

describe('mobileface', () => {
  it('trainable layers reproduce the graph model within 1e-4 (relative to the output scale)', async () => {
    const graph = await loadMobilefaceGraph();
    const net = createMobilefaceBackbone();
    try {
      const x = tf.randomUniform([2, 112, 112, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const want = graph.embed(x);
      const got = net.forward(x, false);
      expect(got.shape).toEqual([2, 256]);
      const w = want.dataSync();
      const g = got.dataSync();
      let maxErr = 0;
      let scale = 0;
      for (let i = 0; i < w.length; i++) {
        maxErr = Math.max(maxErr, Math.abs((w[i] as number) - (g[i] as number)));
        scale = Math.max(scale, Math.abs(w[i] as number));
      }
      expect(scale).toBeGreaterThan(0.1);
      expect(maxErr / scale).toBeLessThan(1e-4);
      tf.dispose([x, want, got]);
    } finally {
      graph.dispose();
      net.params.dispose();
    }
  });

  it('is fine-tunable: the tail parameters (stage 4 + head) get gradients and SGD steps lower a loss', () => {
    const net = createMobilefaceBackbone();
    try {
      // Tail only (as the regressor fine-tunes the last parameter tensors, METHOD §3): full backprop through
      // the 112-px depthwise stages is too slow for a unit test on the pure-JS backend.
      const x = tf.randomUniform([1, 112, 112, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const target = tf.randomNormal([1, 256], 0, 1, 'float32', 4);
      const loss = (): tf.Scalar => tf.mean(tf.square(tf.sub(net.forward(x, true), target))) as tf.Scalar;
      const tail = net.params.names().filter((n) => n.startsWith('stage4') || n.startsWith('dense') || n.startsWith('batchnorm0'));
      expect(tail.length).toBe(10);
      const vars = tail.map((n) => net.params.get(n));
      const first = tf.tidy(() => loss().dataSync()[0] as number);
      const opt = tf.train.sgd(1e-4);
      for (let i = 0; i < 2; i++) {
        const { value, grads } = tf.variableGrads(loss, vars);
        expect(Object.keys(grads).length).toBe(vars.length);
        for (const g of Object.values(grads)) expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0] as number))).toBe(true);
        opt.applyGradients(grads);
        tf.dispose([value, ...Object.values(grads)]);
      }
      const last = tf.tidy(() => loss().dataSync()[0] as number);
      expect(last).toBeLessThan(first);
      opt.dispose();
      tf.dispose([x, target]);
    } finally {
      net.params.dispose();
    }
  });
});
