import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { permuteHost } from '../../src/nn/params.js';
import { createQualityRegressor } from '../../src/regressor/model.js';
import { describeSpec, inferSpecFromStateDict } from '../../src/regressor/spec.js';
import { loadRegressorWeights, readTorchStateDict, saveRegressorFile } from '../../src/regressor/weights.js';
import { CheckpointError, ShapeError } from '../../src/util/errors.js';
import { maxRelError, readFxt } from '../fr/fixture.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/regressor/${name}`, import.meta.url));

function inputOf(name: string): tf.Tensor4D {
  const x = permuteHost(readFxt(fixture(`${name}.fxt`)).get('input')!, [0, 2, 3, 1]);
  return tf.tensor4d(x.data, x.shape as [number, number, number, number]);
}

describe('reference state dicts (PyTorch fixtures)', () => {
  for (const [name, label] of [
    ['diffiqa_r_tiny', 'diffiqa-r/iresnet[2,1,1,1]x8'],
    ['ediffiqa_s_tiny', 'ediffiqa/iresnet[1,2,1,1]x4'],
    ['ediffiqa_t_tiny', 'ediffiqa/mobilefacenet-custom'],
  ] as const) {
    it(`${name}: structure inferred from keys, quality and embedding match PyTorch within 1e-4`, () => {
      const fx = readFxt(fixture(`${name}.fxt`));
      const { model } = loadRegressorWeights(fixture(`${name}.pth`));
      const x = inputOf(name);
      try {
        expect(describeSpec(model.spec)).toBe(label);
        const { quality, embedding } = model.forward(x, false);
        expect(quality.shape).toEqual(fx.get('quality')!.shape);
        expect(maxRelError(quality.dataSync(), fx.get('quality')!.data)).toBeLessThan(1e-4);
        expect(maxRelError(embedding.dataSync(), fx.get('embedding')!.data)).toBeLessThan(1e-4);
        // A batch of exactly one image keeps its batch axis (the upstream squeeze bug, METHOD §3).
        const one = tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
        const q1 = model.forward(one, false).quality;
        expect(q1.shape).toEqual([1]);
        expect(Math.abs(q1.dataSync()[0]! - fx.get('quality')!.data[0]!)).toBeLessThan(1e-4 * Math.abs(fx.get('quality')!.data[0]!) + 1e-6);
        tf.dispose([quality, embedding, one, q1]);
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }

  it('our regressor file round-trips bit for bit and keeps spec and label range', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regw-'));
    const { model } = loadRegressorWeights(fixture('diffiqa_r_tiny.pth'));
    const file = path.join(dir, 'best.safetensors');
    saveRegressorFile(file, model, { labels: { min: 0.61, max: 0.93 }, info: { step: 3 } });
    const again = loadRegressorWeights(dir); // a run folder resolves to best.safetensors
    const x = inputOf('diffiqa_r_tiny');
    try {
      expect(again.meta.labels).toEqual({ min: 0.61, max: 0.93 });
      expect(again.meta.spec).toEqual(model.spec);
      const a = model.forward(x, false).quality;
      const b = again.model.forward(x, false).quality;
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([a, b]);
    } finally {
      x.dispose();
      model.dispose();
      again.model.dispose();
    }
  });

  it('rejects a state dict without a known head, and a wrong-size input, naming the culprit', () => {
    const sd = readTorchStateDict(fixture('diffiqa_r_tiny.pth'));
    sd.delete('linear.weight');
    expect(() => inferSpecFromStateDict(sd, 'x.pth')).toThrow(CheckpointError);
    expect(() => inferSpecFromStateDict(sd, 'x.pth')).toThrow(/x\.pth.*no head found/);
    const r = createQualityRegressor(inferSpecFromStateDict(readTorchStateDict(fixture('ediffiqa_s_tiny.pth')), 's'));
    const x = tf.zeros([1, 112, 112, 3]) as tf.Tensor4D;
    expect(() => r.forward(x, false)).toThrow(ShapeError);
    x.dispose();
    r.dispose();
  });

  it('keeps every parameter in one store under the reference names', () => {
    const { model } = loadRegressorWeights(fixture('ediffiqa_t_tiny.pth'));
    const names = model.params.names();
    expect(names[0]).toBe('base_model.conv1.conv.weight');
    expect(model.headNames()).toEqual(['mlp.l1.weight', 'mlp.l1.bias', 'mlp.l2.weight', 'mlp.l2.bias']);
    expect(model.backboneNames().length + model.headNames().length).toBe(names.length);
    model.dispose();
  });
});
