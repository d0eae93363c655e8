import { describe, expect, it } from 'vitest';
import { jpegRoundTrip } from '../../../src/data/degrade/jpeg.js';
import { mse, randomImage } from './helpers.js';
import { createImage } from '../../../src/data/image.js';

/** A smooth gradient with some texture: JPEG-typical content. */
function texturedImage(w: number, h: number): ReturnType<typeof createImage> {
  const img = createImage(w, h);
  const noise = randomImage(w, h, 9);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      img.data[i] = x / w;
      img.data[i + 1] = 0.5 + 0.4 * Math.sin(x / 3 + y / 5);
      img.data[i + 2] = 0.3 * noise.data[i] + 0.35;
    }
  }
  return img;
}

describe('JPEG degradation', () => {
  it('quality 30 loses more than quality 95; sizes kept; output on 8-bit levels', async () => {
    const img = texturedImage(64, 48);
    const q30 = await jpegRoundTrip(img, 30);
    const q95 = await jpegRoundTrip(img, 95);
    expect([q30.width, q30.height]).toEqual([64, 48]);
    const e30 = mse(q30.data, img.data);
    const e95 = mse(q95.data, img.data);
    expect(e95).toBeGreaterThan(0);
    expect(e30).toBeGreaterThan(2 * e95);
    for (const v of q30.data) expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4);
  });

  it('is deterministic', async () => {
    const img = texturedImage(32, 32);
    const a = await jpegRoundTrip(img, 55);
    const b = await jpegRoundTrip(img, 55);
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
  });
});
