import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairDataset, type SkippedSample } from '../../src/data/dataset.js';
import { listImageFiles } from '../../src/data/files.js';

let dir: string;
let files: string[];
const SIZE = 24;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'diffiqa-ds-'));
  mkdirSync(join(dir, 'sub'));
  const pattern = (w: number, h: number): Buffer => {
    const buf = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) buf.set([(i * 5) % 256, (i * 11) % 256, (i % w) * 4], i * 3);
    return buf;
  };
  const raw = (w: number, h: number) => sharp(pattern(w, h), { raw: { width: w, height: h, channels: 3 } });
  await raw(40, 48).jpeg({ quality: 90 }).toFile(join(dir, 'rgb.jpg'));
  await raw(30, 30).toColourspace('b-w').png().toFile(join(dir, 'gray.png'));
  await raw(36, 36).toColourspace('cmyk').jpeg().toFile(join(dir, 'sub/cmyk.jpg'));
  await raw(32, 28).toColourspace('rgb16').png().toFile(join(dir, 'sub/deep.png'));
  await raw(33, 33).ensureAlpha(0.5).png().toFile(join(dir, 'rgba.png'));
  writeFileSync(join(dir, 'zero.jpg'), Buffer.alloc(0));
  const jpg = await raw(120, 120).jpeg({ quality: 90 }).toBuffer();
  writeFileSync(join(dir, 'truncated.jpg'), jpg.subarray(0, jpg.length >> 1));
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
