import { describe, expect, it } from 'vitest';
import { LADDER, degradeAtSeverity } from '../../src/data/quality-ladder.js';
import { wrapImage } from '../../src/data/image.js';
import { Rng } from '../../src/util/rng.js';

/** A smooth synthetic "face": gradients plus a few sharp edges, so blur and JPEG both remove information. */
function testImage(): ReturnType<typeof wrapImage> {
  const w = 48;
  const data = new Float32Array(w * w * 3);
  for (let y = 0; y < w; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const edge = (x > 16 && x < 32 && y > 10 && y < 38) ? 0.4 : 0;
        data[(y * w + x) * 3 + c] = 0.2 + 0.3 * (x / w) + 0.1 * c + edge * ((x + y) % 2);
      }
  return wrapImage(w, w, data);
}

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

describe('quality ladder', () => {
  it('leaves rung 0 untouched and loses strictly more at every higher rung', async () => {
    const img = testImage();
    const errors: number[] = [];
    for (let level = 0; level < LADDER.length; level++) {
      const out = await degradeAtSeverity(img, level, new Rng(1));
      expect([out.width, out.height]).toEqual([img.width, img.height]);
      errors.push(mse(out.data, img.data));
    }
    expect(errors[0]).toBe(0);
    for (let i = 1; i < errors.length; i++) expect(errors[i]!).toBeGreaterThan(errors[i - 1]!);
  });

  it('is deterministic for a seed and rejects unknown rungs', async () => {
    const img = testImage();
    const a = await degradeAtSeverity(img, 3, new Rng(7));
    const b = await degradeAtSeverity(img, 3, new Rng(7));
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    await expect(degradeAtSeverity(img, 5, new Rng(0))).rejects.toThrow(/severity level must be 0..4/);
  });
});
