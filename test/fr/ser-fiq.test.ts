/**
 * SER-FIQ (src/fr/ser-fiq.ts) against a float64 re-computation of the paper's formula from mobileface's own
 * features and weights, plus the properties that make it usable as an evaluation method: no dropout means no
 * spread (q = 1), a quality does not depend on its batch, and files score as their pixels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../../src/backend/tf.js';
import { decodeImage } from '../../src/data/image-io.js';
import { loadLfwPairs } from '../../src/eval/inputs.js';
import { loadMobilefaceParams, mobilefaceFeatures } from '../../src/fr/mobileface.js';
import { dropoutMasks, serFiqBatch, serFiqQualities } from '../../src/fr/ser-fiq.js';
import { ConfigError } from '../../src/util/errors.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';

const params = loadMobilefaceParams();
afterAll(() => params.dispose());

/** The paper's q from features, masks and the embedding layer's weights, all in float64. */
function referenceQuality(features: ArrayLike<number>, masks: Float32Array, passes: number): number {
  const w = params.get('dense.weight').dataSync(); // [2048, 256]
  const scale = params.get('batchnorm0.scale').dataSync();
  const shift = params.get('batchnorm0.shift').dataSync();
  const dim = features.length;
  const d = scale.length;
  const emb: number[][] = [];
  for (let r = 0; r < passes; r++) {
    const e = new Array<number>(d).fill(0);
    for (let k = 0; k < dim; k++) {
      const v = (features[k] as number) * (masks[r * dim + k] as number);
      if (v !== 0) for (let j = 0; j < d; j++) e[j] = (e[j] as number) + v * (w[k * d + j] as number);
    }
    const out = e.map((v, j) => v * (scale[j] as number) + (shift[j] as number));
    const n = Math.hypot(...out);
    emb.push(out.map((v) => v / n));
  }
  let sum = 0;
  for (let i = 0; i < passes; i++) for (let j = i + 1; j < passes; j++) sum += Math.hypot(...emb[i]!.map((v, k) => v - emb[j]![k]!));
  return 2 / (1 + Math.exp((2 / passes ** 2) * sum));
}

describe('SER-FIQ on mobileface', () => {
  it('equals a float64 re-computation of the paper formula (same masks)', () => {
    const x = tf.randomUniform([2, 112, 112, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const keys = ['a/1.png', 'b/2.png'];
    const passes = 6;
    const got = serFiqBatch(params, x, keys, { passes, dropout: 0.5, seed: 3 });
    const feats = mobilefaceFeatures(params, x);
    const f = feats.arraySync();
    keys.forEach((key, i) => {
      const masks = dropoutMasks(passes, 2048, 0.5, new Rng(deriveSeed(3, key)));
      const want = referenceQuality(f[i]!, masks, passes);
      expect(got[i]).toBeGreaterThan(0);
      expect(got[i]).toBeLessThan(1);
      expect(Math.abs((got[i] as number) - want)).toBeLessThan(1e-5);
    });
    tf.dispose([x, feats]);
  });

  it('draws inverted-dropout masks at the given rate', () => {
    const m = dropoutMasks(10, 2048, 0.5, new Rng(1));
    const zeros = m.filter((v) => v === 0).length;
    expect(new Set(m)).toEqual(new Set([0, 2]));
    expect(Math.abs(zeros / m.length - 0.5)).toBeLessThan(0.02);
  });

  it('is 1 without dropout, and does not depend on the rest of its batch', () => {
    const x = tf.randomUniform([3, 112, 112, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const keys = ['p', 'q', 'r'];
    for (const q of serFiqBatch(params, x, keys, { passes: 4, dropout: 0 })) expect(Math.abs(q - 1)).toBeLessThan(1e-6);
    const all = serFiqBatch(params, x, keys, { passes: 8, seed: 1 });
    const first = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
    const alone = serFiqBatch(params, first, ['p'], { passes: 8, seed: 1 });
    expect(Math.abs((alone[0] as number) - (all[0] as number))).toBeLessThan(1e-6);
    tf.dispose([x, first]);
  });

  it('rejects settings that make no sense, naming them', () => {
    const x = tf.zeros([1, 112, 112, 3]) as tf.Tensor4D;
    expect(() => serFiqBatch(params, x, ['a'], { passes: 1 })).toThrow(ConfigError);
    expect(() => serFiqBatch(params, x, ['a'], { dropout: 1 })).toThrow(/dropout/);
    x.dispose();
  });
});

const lfw = fileURLToPath(new URL('../../../shared/data/lfw-112', import.meta.url));
const present = existsSync(join(lfw, 'pairs.txt'));
if (!present) console.warn(`SKIP ser-fiq on LFW: ${lfw} not found`);

describe.skipIf(!present)('SER-FIQ on LFW files', () => {
  it('scores files as serFiqBatch scores their decoded pixels, seeded by key', async () => {
    const keys = [...new Set(loadLfwPairs(join(lfw, 'pairs.txt')).filter((p) => p.fold === 1).slice(0, 3).map((p) => p.a))];
    const got = await serFiqQualities(keys, (k) => join(lfw, k), { passes: 10, batchSize: 2 });
    expect([...got.keys()]).toEqual(keys);
    for (const key of keys) {
      const img = await decodeImage(join(lfw, key));
      const x = tf.tensor4d(img.data, [1, 112, 112, 3]);
      expect(Math.abs((serFiqBatch(params, x, [key], { passes: 10 })[0] as number) - (got.get(key) as number))).toBeLessThan(1e-9);
      x.dispose();
    }
  });
});
