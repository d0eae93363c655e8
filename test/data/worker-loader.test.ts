import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairDataset, type SkippedSample } from '../../src/data/dataset.js';
import { WorkerPairLoader } from '../../src/data/worker-loader.js';

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
  it('gives the same batches as the in-process loader and reports bad files as skips', async () => {
    const pool = new WorkerPairLoader(1);
    try {
      const skips: SkippedSample[] = [];
      const common = { files, seed: 'w', batchSize: 2, width: 16, height: 16, prefetchBatches: 0 };
      const inWorker = new PairDataset({ ...common, loadPair: pool.load, onSkip: (s) => skips.push(s) });
      const inProcess = new PairDataset(common);
      const a = await inWorker.nextBatch();
      const b = await inProcess.nextBatch();
      inWorker.dispose();
      inProcess.dispose();
      expect(a.paths).toEqual(b.paths);
      expect(Buffer.from(a.lq.buffer).equals(Buffer.from(b.lq.buffer))).toBe(true);
      expect(Buffer.from(a.hq.buffer).equals(Buffer.from(b.hq.buffer))).toBe(true);
      // 2 of 3 files fill the batch: the bad one is met (and recorded once) unless it comes last in the order.
      const zeroMet = inWorker.orderOf(0).indexOf(2) < 2;
      expect(skips.map((s) => s.path)).toEqual(zeroMet ? [join(dir, 'zero.jpg')] : []);
    } finally {
      await pool.dispose();
    }
  });
});
