/** Shared set-up of the regressor training tests: synthetic labelled faces and a tiny-backbone config. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { regressorConfigSchema, type RegressorConfig } from '../../src/regressor/config.js';
import { parseConfig } from '../../src/util/schema.js';
import { writeSyntheticFaces, type SyntheticItem } from './synthetic.js';

/**
 * 3 identities x 8 images, labels 0.6 + 0.3 * quality (DifFIQA-like range), one label without an image; also
 * returns the written items, for tests that label them otherwise.
 */
export async function makeData(): Promise<{ root: string; labels: string; items: SyntheticItem[] }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regtrain-'));
  const data = path.join(root, 'faces');
  const items = await writeSyntheticFaces(data, 3, 8, 32, 5);
  const labels = path.join(root, 'labels.csv');
  const lines = ['path,score', ...items.map((it) => `${it.rel},${0.6 + 0.3 * it.quality}`), 'missing/x.png,0.7'];
  fs.writeFileSync(labels, `${lines.join('\n')}\n`);
  return { root, labels, items };
}

export function config(kind: 'diffiqa-r' | 'ediffiqa', embeddingDim: number, extra: Record<string, unknown> = {}): RegressorConfig {
  return parseConfig(
    regressorConfigSchema,
    {
      model: { kind, backbone: 'iresnet', iresnet: { layers: [1, 1, 1, 1], width: 4, embeddingDim, inputSize: 32 }, hidden: 32 },
      train: { epochs: 6, batchSize: 24, headLr: 1e-2, backboneLr: 1e-3, trainableTensors: 12, checkpointEvery: 5, seed: 7 },
      ediffiqa: { beta: 0.5, minHq: 3 },
      ...extra,
    },
    'test-config',
  );
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

