import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { decodeImage } from '../../src/data/image-io.js';
import { readErrors, readResults } from '../../src/pipelines/records.js';
import { loadRegressor, scoreFiles } from '../../src/pipelines/score.js';
import { writeSyntheticFaces } from './synthetic.js';

const model = fileURLToPath(new URL('../fixtures/regressor/diffiqa_r_tiny.pth', import.meta.url));

describe('scoreFiles', () => {
  it('scores in batches (final batch of one), records bad files, resumes, and clips only on request', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'score-'));
    await writeSyntheticFaces(root, 1, 5, 48);
    fs.writeFileSync(path.join(root, 'id000', 'broken.png'), Buffer.from('not an image'));
    const out = path.join(root, 'scores.csv');
    const scorer = loadRegressor(model);
    const first = path.join(root, 'id000', 'img0.png');
    try {
      // A first run over one file, then the folder: the second run must skip it (resume).
      expect((await scoreFiles([first], { model: scorer, out, batchSize: 2, quiet: true })).scored).toBe(1);
      const sum = await scoreFiles(root, { model: scorer, out, batchSize: 2, quiet: true });
      expect(sum).toEqual({ scored: 4, failed: 1, skipped: 1, total: 6 });
      const rows = readResults(out);
      expect(rows.map((r) => path.basename(r.path)).sort()).toEqual(['img0.png', 'img1.png', 'img2.png', 'img3.png', 'img4.png']);
      expect(readErrors(out).map((e) => path.basename(e.path))).toEqual(['broken.png']);
      // Each batched score equals the image scored alone (independent forward pass, batch of one).
      for (const r of rows) {
        const img = await decodeImage(r.path, { size: { width: 48, height: 48 } });
        const alone = scorer.score([img.data]);
        expect(alone.length).toBe(1);
        expect(r.values.quality).toBeCloseTo(alone[0]!, 4);
      }
      // Nothing left to do: a rerun writes nothing new.
      expect((await scoreFiles(root, { model: scorer, out, quiet: true })).scored).toBe(0);
      expect(readResults(out)).toHaveLength(5);
      const clipped = path.join(root, 'clipped.jsonl');
      await scoreFiles(root, { model: scorer, out: clipped, batchSize: 3, clip: true, quiet: true });
      const raw = new Map(rows.map((r) => [r.path, r.values.quality!]));
      for (const r of readResults(clipped)) expect(r.values.quality).toBeCloseTo(Math.min(1, Math.max(0, raw.get(r.path)!)), 5);
    } finally {
      scorer.dispose();
    }
  });

  it('a prepare hook (alignment) feeds the model; its failures are recorded per image', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'score-prep-'));
    await writeSyntheticFaces(root, 1, 3, 64);
    const out = path.join(root, 'aligned.csv');
    const scorer = loadRegressor(model);
    try {
      // A stand-in aligner: "no face" for img1, otherwise the 64 px image itself (resized to the model's 48).
      const prepare = async (file: string) => {
        if (file.endsWith('img1.png')) throw new Error('no face found');
        return decodeImage(file, { size: 'native' });
      };
      const sum = await scoreFiles(root, { model: scorer, out, batchSize: 8, prepare, quiet: true });
      expect(sum).toMatchObject({ scored: 2, failed: 1 });
      expect(readErrors(out)[0]!.error).toMatch(/no face found/);
      const row = readResults(out).find((r) => r.path.endsWith('img0.png'))!;
      const direct = await decodeImage(row.path, { size: { width: 48, height: 48 } });
      expect(row.values.quality).toBeCloseTo(scorer.score([direct.data])[0]!, 4);
    } finally {
      scorer.dispose();
    }
  });

  it('scores a tensor batch and an empty list without leaking tensors, and frees everything on dispose', () => {
    const start = tf.memory().numTensors;
    const scorer = loadRegressor(model);
    const x = tf.randomUniform([3, 48, 48, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    // The first call may cache inference-only weights (BatchNorm folded into convs) in the model's store.
    const first = scorer.score(x);
    const before = tf.memory().numTensors;
    const q = scorer.score(x);
    expect(q).toEqual(first);
    expect(q.length).toBe(3);
    expect(scorer.score([]).length).toBe(0);
    expect(() => scorer.score([new Float32Array(10)])).toThrow(/48x48x3/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    scorer.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
