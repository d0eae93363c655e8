import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipHorizontal } from '../../src/data/image.js';
import { loadTrainingPair } from '../../src/data/training-pair.js';
import { Rng } from '../../src/util/rng.js';

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'diffiqa-tp-'));
  const px = Buffer.alloc(30 * 20 * 3).map((_, i) => (i * 29) % 256);
  await sharp(px, { raw: { width: 30, height: 20, channels: 3 } }).png().toFile(join(dir, 'a.png'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadTrainingPair', () => {
  it('flips the HQ target with the drawn coin, and sizes both sides to the request', async () => {
    const opts = { width: 16, height: 12 };
    const plain = await loadTrainingPair(join(dir, 'a.png'), new Rng(1), { ...opts, flipProb: 0 });
    const flipped = await loadTrainingPair(join(dir, 'a.png'), new Rng(1), { ...opts, flipProb: 1 });
    expect([plain.hq.width, plain.hq.height, plain.lq.width, plain.lq.height]).toEqual([16, 12, 16, 12]);
    expect(Array.from(flipped.hq.data)).toEqual(Array.from(flipHorizontal(plain.hq).data));
    // The LQ chain draws the same numbers in both runs (the coin is drawn either way) but sees a mirrored source.
    expect(Array.from(flipped.lq.data)).not.toEqual(Array.from(plain.lq.data));
  });
});
