/** A temp folder of small images in every format the loader converts, plus a zero-byte and a truncated JPEG. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** Creates the folder and returns its path (the caller removes it). */
export async function makeMixedImageFolder(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'diffiqa-ds-'));
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
  return dir;
}
