import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listImageFiles } from '../../src/data/files.js';
import { decodeImage, writeImage } from '../../src/data/image-io.js';
import { flipHorizontal } from '../../src/data/image.js';
import { readRegressorFile } from '../../src/regressor/weights.js';
import { trainRegressor } from '../../src/train/train-regressor.js';
import { config, makeData } from './train-helpers.js';

/** The final weights of a tiny DifFIQA(R) run with `flipProb` on the faces under `data`. */
async function trainedWeights(root: string, labels: string, data: string, flipProb: number, name: string): Promise<Map<string, number[]>> {
  const base = config('diffiqa-r', 16);
  const cfg = { ...base, data: { ...base.data, flipProb }, train: { ...base.train, epochs: 2, checkpointEvery: 1 } };
  const r = await trainRegressor({ config: cfg, labels, data, runDir: path.join(root, name), quiet: true });
  const { stateDict } = readRegressorFile(path.join(root, name, 'best.safetensors'));
  expect(r.steps).toBe(2);
  return new Map([...stateDict].map(([k, v]) => [k, Array.from(v.data)]));
}

describe('regressor training: mirror augmentation (data.flipProb)', () => {
  it('flipProb 1 trains exactly as flipProb 0 on mirrored copies of the faces; flipProb 0 differs', async () => {
    const { root, labels } = await makeData();
    const faces = path.join(root, 'faces');
    const mirrored = path.join(root, 'mirrored');
    for (const file of listImageFiles(faces)) {
      const target = path.join(mirrored, path.relative(faces, file));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      await writeImage(target, flipHorizontal(await decodeImage(file, { size: 'native' }))); // PNG: lossless
    }
    const flipped = await trainedWeights(root, labels, faces, 1, 'flip1');
    const premirrored = await trainedWeights(root, labels, mirrored, 0, 'mirrored');
    const plain = await trainedWeights(root, labels, faces, 0, 'flip0');
    expect(flipped).toEqual(premirrored);
    expect(flipped.get('base.conv1.weight')).toEqual(plain.get('base.conv1.weight')); // frozen: untouched either way
    expect(flipped.get('linear.weight')).not.toEqual(plain.get('linear.weight'));
  });
});
