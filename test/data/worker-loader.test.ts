import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairDataset, type SkippedSample } from '../../src/data/dataset.js';
import { WorkerPairLoader } from '../../src/data/worker-loader.js';
import { defaultLoaderWorkers } from '../../src/train/train-diffusion.js';

let dir: string;
let files: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'diffiqa-wl-'));
  const pattern = Buffer.alloc(40 * 40 * 3).map((_, i) => (i * 13) % 256);
  await sharp(pattern, { raw: { width: 40, height: 40, channels: 3 } }).png().toFile(join(dir, 'a.png'));
  await sharp(pattern, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toFile(join(dir, 'b.jpg'));
  writeFileSync(join(dir, 'zero.jpg'), Buffer.alloc(0));
  files = ['a.png', 'b.jpg', 'zero.jpg'].map((f) => join(dir, f));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WorkerPairLoader', () => {
  it.each([1, 3])('with %i worker(s) gives the same batches as the in-process loader and reports bad files as skips', async (workers) => {
    const pool = new WorkerPairLoader(workers);
    try {
      const skips: SkippedSample[] = [];
      const common = { files, seed: 'w', batchSize: 2, width: 16, height: 16, prefetchBatches: 0 };
      const inWorker = new PairDataset({ ...common, loadPair: pool.load, onSkip: (s) => skips.push(s) });
      const inProcess = new PairDataset(common);
      // Several batches, so that with a pool the loads of one batch run on different workers at once.
      for (let batch = 0; batch < 3; batch++) {
        const a = await inWorker.nextBatch();
        const b = await inProcess.nextBatch();
        expect(a.paths).toEqual(b.paths);
        expect(Buffer.from(a.lq.buffer).equals(Buffer.from(b.lq.buffer))).toBe(true);
        expect(Buffer.from(a.hq.buffer).equals(Buffer.from(b.hq.buffer))).toBe(true);
      }
      inWorker.dispose();
      inProcess.dispose();
      // The bad file is met in the first epoch's batches and recorded once, however often it comes round again.
      expect(skips.map((s) => s.path)).toEqual([join(dir, 'zero.jpg')]);
    } finally {
      await pool.dispose();
    }
  });

  it('defaults to one worker per core the training step leaves free, 1 to 8', () => {
    expect([1, 2, 3, 16, 64].map((cores) => defaultLoaderWorkers(cores))).toEqual([1, 1, 2, 8, 8]);
  });
});
