/**
 * End-to-end alignment on real photos: face-api's demo photo (ships in node_modules, 3 faces) and a blank
 * image (no face). Slow on the pure-JS cpu backend (two 512x512 SSD passes), so everything runs once in
 * beforeAll.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createImage } from '../../src/data/image.js';
import { decodeImage, writeImage } from '../../src/data/image-io.js';
import { align, type AlignRecord } from '../../src/fr/align.js';
import { packageFile } from '../../src/fr/tfjs-weights.js';

let records: AlignRecord[] = [];
let outDir = '';

beforeAll(async () => {
  const inDir = mkdtempSync(join(tmpdir(), 'fr-align-in-'));
  outDir = mkdtempSync(join(tmpdir(), 'fr-align-out-'));
  copyFileSync(packageFile('@vladmandic/face-api', 'demo/sample1.jpg'), join(inDir, 'group.jpg'));
  const blank = createImage(200, 150);
  blank.data.fill(0.5);
  await writeImage(join(inDir, 'blank.png'), blank);
  records = await align(inDir, outDir);
}, 600_000);

describe('align', () => {
  it('records every photo: the group photo has 3 faces (largest kept), the blank one none', () => {
    expect(records.map((r) => [r.input.split('/').pop(), r.status])).toEqual([
      ['blank.png', 'no-face'],
      ['group.jpg', 'ok'],
    ]);
    const group = records[1] as AlignRecord;
    expect(group.faces).toBe(3);
    const lines = readFileSync(join(outDir, 'align-results.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as AlignRecord).status)).toEqual(['no-face', 'ok']);
  });

  it('the kept face has plausible 5 points inside its box and fits the template closely', () => {
    const r = records[1] as AlignRecord;
    const box = r.box!;
    expect(box.score).toBeGreaterThan(0.9);
    const [le, re, nose, lm, rm] = r.landmarks5!;
    for (const [x, y] of r.landmarks5!) {
      expect(x).toBeGreaterThan(box.x - 5);
      expect(x).toBeLessThan(box.x + box.width + 5);
      expect(y).toBeGreaterThan(box.y - 5);
      expect(y).toBeLessThan(box.y + box.height + 5);
    }
    expect(le![0]).toBeLessThan(re![0]);
    expect(lm![0]).toBeLessThan(rm![0]);
    expect(Math.max(le![1], re![1])).toBeLessThan(nose![1]);
    expect(nose![1]).toBeLessThan(Math.min(lm![1], rm![1]));
    expect(r.residual!).toBeLessThan(6);
  });

  it('writes a 112x112 crop', async () => {
    const r = records[1] as AlignRecord;
    expect(existsSync(r.output!)).toBe(true);
    const img = await decodeImage(r.output!, { size: 'native' });
    expect([img.width, img.height]).toEqual([112, 112]);
    // Not blank: a face has contrast.
    let min = 1, max = 0;
    for (const v of img.data) (min = Math.min(min, v)), (max = Math.max(max, v));
    expect(max - min).toBeGreaterThan(0.3);
  });
});
