import { describe, expect, it } from 'vitest';
import { autoDegrade, degradeBsrgan, degradeChain, drawOpOrder, modCrop } from '../../../src/data/degrade/bsrgan.js';
import { Rng } from '../../../src/util/rng.js';
import { randomImage } from './helpers.js';
import { createImage } from '../../../src/data/image.js';

function smoothImage(w: number, h: number): ReturnType<typeof createImage> {
  const img = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      img.data[i] = x / w;
      img.data[i + 1] = y / h;
      img.data[i + 2] = 0.5 + 0.5 * Math.sin((x + y) / 7);
    }
  }
  return img;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('BSRGAN degradation', () => {
  it('op order is a permutation of 0..6 with op2 before op3', () => {
    const rng = new Rng(1);
    for (let k = 0; k < 500; k++) {
      const order = drawOpOrder(rng);
      expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(order.indexOf(2)).toBeLessThan(order.indexOf(3));
    }
  });

  it('modCrop keeps the top-left multiple-of-sf region', () => {
    const img = randomImage(10, 7, 2);
    const out = modCrop(img, 4);
    expect([out.width, out.height]).toEqual([8, 4]);
    expect(out.data[(3 * 8 + 7) * 3 + 2]).toBe(img.data[(3 * 10 + 7) * 3 + 2]);
  });

  it('sf=4 maps 512x512 to 128x128 in [0,1] on 8-bit levels, for several seeds', async () => {
    const img = smoothImage(512, 512);
    for (let seed = 0; seed < 3; seed++) {
      const out = await degradeBsrgan(img, new Rng(`b${seed}`), 4);
      expect([out.width, out.height]).toEqual([128, 128]);
      let bad = 0;
      for (const v of out.data) if (v < 0 || v > 1 || Math.abs(v * 255 - Math.round(v * 255)) > 1e-4) bad++;
      expect(bad).toBe(0);
    }
  });

  it('autoDegrade resizes any input to 512 first and returns 128x128', async () => {
    const out = await autoDegrade(smoothImage(90, 70), new Rng(3));
    expect([out.width, out.height]).toEqual([128, 128]);
  });

  it('the same seed gives the same image bit for bit; another seed does not', async () => {
    const img = smoothImage(100, 120);
    const a = await degradeChain(img, new Rng('seed-7'), 112, 112);
    const b = await degradeChain(img, new Rng('seed-7'), 112, 112);
    const c = await degradeChain(img, new Rng('seed-8'), 112, 112);
    expect([a.width, a.height]).toEqual([112, 112]);
    expect(sameBits(a.data, b.data)).toBe(true);
    expect(sameBits(a.data, c.data)).toBe(false);
  });

  it('degrades: the LQ image differs clearly from the plainly resized source', async () => {
    const img = smoothImage(128, 128);
    const lq = await degradeChain(img, new Rng(21), 128, 128);
    let mse = 0;
    for (let i = 0; i < img.data.length; i++) mse += (lq.data[i] - img.data[i]) ** 2;
    expect(mse / img.data.length).toBeGreaterThan(1e-4);
  });
});
