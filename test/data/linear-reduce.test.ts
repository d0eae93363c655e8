/**
 * src/data/linear-reduce.ts against sharp itself: the shrink `decodeImage(…, { size: 'native', maxSide })` applies,
 * reproduced without sharp for the browser scorer, must give the same bytes. Cases: face-api's six sample photos
 * (1920 px JPEGs, shrink 1.875) and seeded random PNGs of awkward sizes and factors up to 3.9, including odd sides,
 * a factor just above 1, portrait and landscape, and a side that rounds half-way.
 */
import * as fs from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fromUint8 } from '../../src/data/image.js';
import { decodeImage } from '../../src/data/image-io.js';
import { reduceToFit, shrinkPlan, type Uint8Image } from '../../src/data/linear-reduce.js';
import { samplePhotos } from '../../src/experiment/demo.js';
import { ShapeError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** The photo at its stored size, as sharp decodes it before resizing (oriented, RGB). */
async function decodeFull(bytes: Buffer): Promise<Uint8Image> {
  const { data, info } = await sharp(bytes).autoOrient().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

function countDifferent(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

async function randomPng(width: number, height: number, seed: string): Promise<Buffer> {
  const rng = new Rng(seed);
  // Smooth gradients plus noise: a resampler's rounding shows on both.
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) raw[(y * width + x) * 3 + c] = Math.min(255, Math.floor(((x * (c + 1) + y * (3 - c)) % 256) * 0.7 + rng.range(0, 77)));
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('reduceToFit: sharp linear-kernel resize, byte for byte', () => {
  it('the six sample photos shrink to exactly the pixels decodeImage returns', async () => {
    for (const photo of samplePhotos()) {
      const full = await decodeFull(fs.readFileSync(photo));
      const mine = reduceToFit(full, 1024);
      const node = await decodeImage(photo, { size: 'native', maxSide: 1024 });
      expect([mine.width, mine.height], photo).toEqual([node.width, node.height]);
      const ours = fromUint8(mine.width, mine.height, mine.data);
      expect(Buffer.from(ours.data.buffer).equals(Buffer.from(node.data.buffer)), `${photo}: pixels differ from decodeImage`).toBe(true);
      expect(shrinkPlan(full.width, full.height, 1024, true)).toMatchObject({ exact: true, width: node.width, height: node.height });
    }
  });

  const sizes: [number, number, number][] = [
    [1025, 700, 1024], // factor just above 1
    [3000, 2000, 1024],
    [1500, 3333, 1024], // portrait
    [997, 513, 256], // odd sides, factor 3.9
    [640, 480, 500],
    [2047, 1023, 1024],
    [777, 1999, 1000],
    [301, 302, 200],
  ];
  for (const [w, h, maxSide] of sizes) {
    it(`a random ${w}x${h} PNG shrunk to fit ${maxSide}`, async () => {
      const png = await randomPng(w, h, `reduce-${w}x${h}`);
      const full = await decodeFull(png);
      const mine = reduceToFit(full, maxSide);
      const ref = await sharp(png).resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
      expect([mine.width, mine.height]).toEqual([ref.info.width, ref.info.height]);
      expect(countDifferent(mine.data, new Uint8Array(ref.data))).toBe(0);
      expect(shrinkPlan(w, h, maxSide, false).exact).toBe(true);
    });
  }

  it('returns an image that already fits as it is, and refuses data of the wrong length', () => {
    const img: Uint8Image = { width: 10, height: 8, channels: 3, data: new Uint8Array(240) };
    expect(reduceToFit(img, 10)).toBe(img);
    expect(() => reduceToFit({ ...img, data: new Uint8Array(239) }, 5)).toThrow(ShapeError);
  });

  it('says when it cannot match sharp: JPEGs shrunk 3x or more, and factors of 4 or more', () => {
    expect(shrinkPlan(4032, 3024, 1024, true)).toMatchObject({ exact: false, width: 1024, height: 768, reason: expect.stringContaining('JPEG') });
    expect(shrinkPlan(4032, 3024, 1024, false)).toMatchObject({ exact: true });
    expect(shrinkPlan(5000, 3000, 1024, false)).toMatchObject({ exact: false, reason: expect.stringContaining('box-shrinks') });
    expect(shrinkPlan(800, 600, 1024, true)).toEqual({ shrink: 1, width: 800, height: 600, exact: true });
  });
});
