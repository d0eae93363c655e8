/**
 * The shipped regressors (models/ediffiqa.md, models/diffiqa-r.md): the defaults load, checksum-verified, and rank
 * undamaged held-out LFW faces above the same faces at the quality ladder's heaviest damage.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, writeImage } from '../../src/data/image-io.js';
import { LADDER, degradeAtSeverity } from '../../src/data/quality-ladder.js';
import { EVALUATION_FOLDS, lfwFoldImages } from '../../src/experiment/training-split.js';
import { shippedModelPath } from '../../src/models/shipped.js';
import { readResults } from '../../src/pipelines/records.js';
import { loadRegressor, scoreFiles } from '../../src/pipelines/score.js';
import { Rng } from '../../src/util/rng.js';

const LFW = path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'lfw-112');

describe('shipped regressors', () => {
  it('loadRegressor() without a path is the shipped eDifFIQA; DifFIQA(R) ships too', () => {
    const scorer = loadRegressor();
    expect(scorer.meta.spec.kind).toBe('ediffiqa');
    expect(scorer.name).toMatch(/^ediffiqa\/mobileface/);
    expect(scorer.inputSize).toBe(112);
    scorer.dispose();
    const r = loadRegressor(shippedModelPath('diffiqa-r'));
    expect(r.meta.spec.kind).toBe('diffiqa-r');
    r.dispose();
  });

  it.skipIf(!fs.existsSync(LFW))('both rank 8 held-out LFW faces above their heaviest ladder damage; scoreFiles defaults to eDifFIQA', async () => {
    const faces = lfwFoldImages(LFW, EVALUATION_FOLDS).filter((_, i) => i % 400 === 0).slice(0, 8);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipped-reg-'));
    const clean: Float32Array[] = [];
    const damaged: Float32Array[] = [];
    for (const [i, key] of faces.entries()) {
      const img = await decodeImage(path.join(LFW, key), { size: { width: 112, height: 112 } });
      const worst = await degradeAtSeverity(img, LADDER.length - 1, new Rng(`shipped-${i}`));
      clean.push(img.data);
      damaged.push(worst.data);
      await writeImage(path.join(dir, `${i}-clean.png`), img);
      await writeImage(path.join(dir, `${i}-damaged.png`), worst);
    }
    for (const model of [undefined, shippedModelPath('diffiqa-r')]) {
      const scorer = loadRegressor(model);
      const [c, d] = [scorer.score(clean), scorer.score(damaged)];
      scorer.dispose();
      c.forEach((q, i) => expect(q, `${model ?? 'ediffiqa'} face ${faces[i]}`).toBeGreaterThan(d[i] as number));
    }
    const out = path.join(dir, 'scores.csv');
    await scoreFiles(dir, { out, quiet: true });
    const rows = new Map(readResults(out).map((r) => [path.basename(r.path), r.values.quality as number]));
    expect(rows.size).toBe(2 * faces.length);
    for (let i = 0; i < faces.length; i++) expect(rows.get(`${i}-clean.png`)!).toBeGreaterThan(rows.get(`${i}-damaged.png`)!);
  });
});
