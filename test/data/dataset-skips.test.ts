import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairDataset, type SkippedSample } from '../../src/data/dataset.js';
import { listImageFiles } from '../../src/data/files.js';
import { makeMixedImageFolder } from './mixed-folder.js';

let dir: string;
let files: string[];
const SIZE = 24;

beforeAll(async () => {
  dir = await makeMixedImageFolder();
  files = listImageFiles(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PairDataset with bad and unusual files', () => {
  it('produces full [-1,1] batches, skips and records bad files (callback + JSONL), converts all formats', async () => {
    const skips: SkippedSample[] = [];
    const log = join(dir, 'skips.jsonl');
    const ds = new PairDataset({
      files, seed: 1, batchSize: 5, width: SIZE, height: SIZE, prefetchBatches: 0, skipLogPath: log, onSkip: (s) => skips.push(s),
    });
    const batch = await ds.nextBatch();
    ds.dispose();
    expect(batch.paths).toHaveLength(5);
    expect(batch.hq).toHaveLength(5 * SIZE * SIZE * 3);
    let outside = 0;
    for (const arr of [batch.hq, batch.lq]) for (const v of arr) if (!(v >= -1 && v <= 1)) outside++;
    expect(outside).toBe(0);
    // The 7 files hold 5 good ones, so one batch of 5 crossed both bad files (in whatever order).
    expect(new Set(batch.paths)).toEqual(new Set(files.filter((f) => !/zero|truncated/.test(f))));
    expect(skips.map((s) => s.path).sort()).toEqual([join(dir, 'truncated.jpg'), join(dir, 'zero.jpg')]);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SkippedSample);
    expect(lines.map((l) => l.path).sort()).toEqual([join(dir, 'truncated.jpg'), join(dir, 'zero.jpg')]);
    expect(lines.find((l) => l.path.endsWith('zero.jpg'))!.reason).toMatch(/empty/);
    // The grayscale file gives equal channels in the HQ target.
    const g = batch.paths.indexOf(join(dir, 'gray.png'));
    const hq = batch.hq.subarray(g * SIZE * SIZE * 3, (g + 1) * SIZE * SIZE * 3);
    let unequal = 0;
    for (let i = 0; i < hq.length; i += 3) if (hq[i] !== hq[i + 1] || hq[i] !== hq[i + 2]) unequal++;
    expect(unequal).toBe(0);
  });

});
