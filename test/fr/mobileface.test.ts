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
});
