import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scoreCommand } from '../../src/cli/score.js';
import { trainRegressorCommand } from '../../src/cli/train-regressor.js';
import { createRequire } from 'node:module';
import { decodeImage, resizeImage, writeImage } from '../../src/data/image-io.js';
import { alignImage, loadAligner } from '../../src/fr/align.js';
import { readErrors, readResults } from '../../src/pipelines/records.js';
import { loadRegressor } from '../../src/pipelines/score.js';
import { inProcessCli } from '../cli/in-process.js';
import { writeSyntheticFaces } from './synthetic.js';

const model = fileURLToPath(new URL('../fixtures/regressor/diffiqa_r_tiny.pth', import.meta.url));

const cli = inProcessCli(scoreCommand, trainRegressorCommand);

describe('CLI: score and train-regressor', () => {
  it('score writes one row per image to the requested file', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scorecli-'));
    await writeSyntheticFaces(root, 2, 2, 48);
    const out = path.join(root, 'q.jsonl');
    await cli(['score', root, '--model', model, '--out', out, '--batch', '3', '--backend', 'cpu']).parseAsync();
    expect(readResults(out)).toHaveLength(4);
  });

  it('score --align scores the aligned face of a photo, as align + score does, and records a photo without a face', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'scorealign-'));
    const photo = path.join(root, 'sample1.jpg');
    fs.copyFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg'), photo);
    await writeImage(path.join(root, 'blank.png'), { width: 200, height: 200, data: new Float32Array(200 * 200 * 3).fill(0.5) });
    const out = path.join(root, 'q.csv');
    await cli(['score', root, '--model', model, '--out', out, '--align']).parseAsync(); // native: the detector is slow on tfjs cpu
    const rows = readResults(out);
    expect(rows.map((r) => path.basename(r.path))).toEqual(['sample1.jpg']);
    expect(readErrors(out).map((e) => [path.basename(e.path), e.error])).toEqual([['blank.png', expect.stringMatching(/blank\.png: no face found \(--align\)/)]]);
    // The same face through `diffiqa align`'s function, then scored as a crop.
    const aligner = loadAligner();
    const { crop } = alignImage(await decodeImage(photo, { size: 'native', maxSide: 1024 }), aligner);
    aligner.dispose();
    const scorer = loadRegressor(model);
    const expected = scorer.score([(await resizeImage(crop!, scorer.inputSize, scorer.inputSize)).data])[0]!;
    scorer.dispose();
    expect(rows[0]!.values.quality).toBeCloseTo(expected, 5);
  });

  it('--help shows examples', async () => {
    let help = '';
    await cli([]).parseAsync(['train-regressor', '--help'], {}, (_e: unknown, _a: unknown, output: string) => {
      help = output;
    });
    expect(help).toMatch(/Examples:[\s\S]*train-regressor --config configs\/regressor\/ediffiqa-mobileface\.yaml/);
  });
});
