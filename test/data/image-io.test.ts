import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBytes, decodeImage, encodeImage, resizeImage } from '../../src/data/image-io.js';
import { createImage, type RgbImage } from '../../src/data/image.js';
import { DataError } from '../../src/util/errors.js';

let dir: string;

/** Raw RGB bytes: left half red, right half blue. */
function halves(w: number, h: number): Buffer {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (x < w / 2) buf[i] = 255;
      else buf[i + 2] = 255;
    }
  }
  return buf;
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]].map((v) => Math.round(v * 255));
}

/**
 * A decompression bomb: a PNG whose header declares `width` x `height` 8-bit RGB (50000x50000 = 7.5 GB of pixels)
 * but which holds one deflated row of zeros, a few hundred bytes in all.
 */
function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1 + 3 * width))), chunk('IEND', Buffer.alloc(0))]);
}

async function expectDataError(p: Promise<unknown>, path: string, reason: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(DataError);
  expect((err as DataError).file).toBe(path);
  expect((err as DataError).reason).toMatch(reason);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'diffiqa-io-'));
  const raw = { raw: { width: 40, height: 20, channels: 3 as const } };
  await sharp(halves(40, 20), raw).png().toFile(join(dir, 'halves.png'));
  await sharp(halves(40, 20), raw).jpeg({ quality: 95 }).toFile(join(dir, 'halves.jpg'));
  // EXIF orientation 6: the stored 40x20 image is displayed rotated 90° clockwise (20 wide, 40 tall).
  await sharp(halves(40, 20), raw).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'rotated.jpg'));
  const grey = Buffer.alloc(16 * 16).map((_, i) => (i * 7) % 256);
  await sharp(grey, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, 'grey.png'));
  const rgba = Buffer.alloc(16 * 16 * 4);
  for (let i = 0; i < 16 * 16; i++) rgba.set([200, 100, 50, i % 2 ? 0 : 255], i * 4);
  await sharp(rgba, { raw: { width: 16, height: 16, channels: 4 } }).png().toFile(join(dir, 'rgba.png'));
  const flat = { create: { width: 16, height: 16, channels: 3 as const, background: { r: 200, g: 60, b: 40 } } };
  await sharp(flat).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(join(dir, 'cmyk.jpg'));
  await sharp(flat).toColourspace('rgb16').png().toFile(join(dir, 'deep.png'));
  await sharp({ create: { ...flat.create, width: 4, height: 4 } }).png().toFile(join(dir, 'tiny.png'));
  writeFileSync(join(dir, 'empty.jpg'), Buffer.alloc(0));
  const noisy = Buffer.alloc(200 * 200 * 3).map((_, i) => (i * 7919) % 251);
  await sharp(noisy, { raw: { width: 200, height: 200, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(dir, 'noisy.jpg'));
  const jpg = readFileSync(join(dir, 'noisy.jpg'));
  writeFileSync(join(dir, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  writeFileSync(join(dir, 'text.jpg'), 'this is not an image\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decodeImage', () => {
  it('resizes to 112x112 by default without cropping (fit fill)', async () => {
    const img = await decodeImage(join(dir, 'halves.png'));
    expect([img.width, img.height]).toEqual([112, 112]);
    expect(pixel(img, 5, 56)).toEqual([255, 0, 0]);
    expect(pixel(img, 106, 56)).toEqual([0, 0, 255]);
  });

  it('applies EXIF orientation', async () => {
    const img = await decodeImage(join(dir, 'rotated.jpg'), { size: 'native' });
    expect([img.width, img.height]).toEqual([20, 40]);
    // Rotating 90° clockwise brings the left (red) half to the top.
    expect(pixel(img, 10, 3)[0]).toBeGreaterThan(200);
    expect(pixel(img, 10, 36)[2]).toBeGreaterThan(200);
  });

  it('converts grayscale to three equal channels', async () => {
    const img = await decodeImage(join(dir, 'grey.png'), { size: 'native' });
    expect([img.width, img.height]).toEqual([16, 16]);
    expect(pixel(img, 3, 0)).toEqual([21, 21, 21]);
  });

  it('drops alpha, keeping the colour under transparent pixels (as PIL convert("RGB"))', async () => {
    const img = await decodeImage(join(dir, 'rgba.png'), { size: 'native' });
    expect(pixel(img, 0, 0)).toEqual([200, 100, 50]);
    expect(pixel(img, 1, 0)).toEqual([200, 100, 50]);
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const meta = await sharp(join(dir, 'cmyk.jpg')).metadata();
    expect(meta.space).toBe('cmyk');
    const [r, g, b] = pixel(await decodeImage(join(dir, 'cmyk.jpg'), { size: 'native' }), 8, 8);
    expect(Math.abs(r - 200)).toBeLessThan(20);
    expect(Math.abs(g - 60)).toBeLessThan(20);
    expect(Math.abs(b - 40)).toBeLessThan(20);
  });

  it('reduces 16-bit PNG to 8-bit values in [0,1]', async () => {
    expect((await sharp(join(dir, 'deep.png')).metadata()).depth).toBe('ushort');
    expect(pixel(await decodeImage(join(dir, 'deep.png'), { size: 'native' }), 2, 2)).toEqual([200, 60, 40]);
  });

  it('rejects empty, truncated, non-image and tiny files with DataError naming the file', async () => {
    await expectDataError(decodeImage(join(dir, 'empty.jpg')), join(dir, 'empty.jpg'), /empty/);
    await expectDataError(decodeImage(join(dir, 'truncated.jpg')), join(dir, 'truncated.jpg'), /decode/);
    await expectDataError(decodeImage(join(dir, 'text.jpg')), join(dir, 'text.jpg'), /not a readable image/);
    await expectDataError(decodeImage(join(dir, 'tiny.png')), join(dir, 'tiny.png'), /too small: 4x4/);
    await expectDataError(decodeImage(join(dir, 'missing.png')), join(dir, 'missing.png'), /cannot read/);
    expect((await decodeImage(join(dir, 'tiny.png'), { minSide: 4, size: 'native' })).width).toBe(4);
  });

  it('decodes a 10000x10000 image through the resize, and enforces limitInputPixels', async () => {
    const big = join(dir, 'big.jpg');
    await sharp({ create: { width: 10000, height: 10000, channels: 3, background: { r: 10, g: 120, b: 240 } } })
      .jpeg({ quality: 80 })
      .toFile(big);
    const rssBefore = process.memoryUsage().rss;
    const img = await decodeImage(big);
    expect([img.width, img.height]).toEqual([112, 112]);
    expect(pixel(img, 50, 50).map((v, i) => Math.abs(v - [10, 120, 240][i]) < 4)).toEqual([true, true, true]);
    // A full float decode would need 1.2 GB; through shrink-on-load the growth stays far below that.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400e6);
    await expectDataError(decodeImage(big, { limitInputPixels: 1e6 }), big, /too large/);
    const native = await decodeImage(big, { size: 'native', maxSide: 256 });
    expect([native.width, native.height]).toEqual([256, 256]);
  });

  it('refuses a decompression bomb (a tiny PNG declaring 50000x50000) from its header, before decoding', async () => {
    const bytes = pngBomb(50000, 50000);
    expect(bytes.length).toBeLessThan(1000);
    const bomb = join(dir, 'bomb.png');
    writeFileSync(bomb, bytes);
    expect(await sharp(bytes, { limitInputPixels: false }).metadata()).toMatchObject({ format: 'png', width: 50000, height: 50000 });
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    await expectDataError(decodeImage(bomb), bomb, /^image too large: 50000x50000 exceeds 268435456 pixels$/);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100e6);
    // From bytes, named by their label; and the limit is the option's.
    await expectDataError(decodeImage(bytes, {}, 'upload.png'), 'upload.png', /too large: 50000x50000/);
    await expectDataError(decodeImage(bomb, { limitInputPixels: 50000 * 50000 - 1 }), bomb, /exceeds 2499999999 pixels/);
  });
});

describe('encode / resize helpers', () => {
  it('PNG round trip is exact on 8-bit levels; JPEG decodes to the same size', async () => {
    const img = createImage(9, 5);
    for (let i = 0; i < img.data.length; i++) img.data[i] = ((i * 37) % 256) / 255;
    const back = await decodeBytes(await encodeImage(img, { format: 'png' }));
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
    const jpeg = await decodeBytes(await encodeImage(img, { format: 'jpeg', quality: 90 }));
    expect([jpeg.width, jpeg.height]).toEqual([9, 5]);
  });

  it('resizeImage gives the requested size and keeps a constant colour', async () => {
    const img = createImage(128, 128);
    img.data.fill(100 / 255);
    const out = await resizeImage(img, 112, 100);
    expect([out.width, out.height]).toEqual([112, 100]);
    expect(pixel(out, 60, 40)).toEqual([100, 100, 100]);
  });
});
