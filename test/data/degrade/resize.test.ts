import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wrapImage } from '../../../src/data/image.js';
import { cubicMatlab, imresizeBicubic } from '../../../src/data/degrade/imresize.js';
import { CV_INTERPOLATIONS, type CvInterpolation, resizeCv } from '../../../src/data/degrade/resize-cv.js';
import { constantImage, maxAbsDiff, randomImage } from './helpers.js';

interface CvCase {
  mode: CvInterpolation;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  out: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/data/resize.json', import.meta.url), 'utf8')) as {
  src7x9: number[];
  src16x18: number[];
  cv: CvCase[];
  imresizeHalf: { inH: number; inW: number; outH: number; outW: number; out: number[] };
};

/** MATLAB imresize written from its definition (float64, symmetric extension), independent of the tap tables. */
function imresizeReference(src: Float32Array, h: number, w: number, scale: number): Float64Array {
  const oh = Math.ceil(h * scale);
  const ow = Math.ceil(w * scale);
  const sym = (i: number, n: number): number => {
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
    return i;
  };
  const weights = (o: number, n: number): Map<number, number> => {
    const u = (o + 1) / scale + 0.5 * (1 - 1 / scale) - 1; // 0-based centre
    const m = new Map<number, number>();
    let total = 0;
    for (let j = Math.floor(u) - 10; j <= Math.floor(u) + 10; j++) {
      const wt = scale * cubicMatlab((u - j) * scale);
      if (wt === 0) continue;
      total += wt;
      const k = sym(j, n);
      m.set(k, (m.get(k) ?? 0) + wt);
    }
    for (const [k, v] of m) m.set(k, v / total);
    return m;
  };
  const out = new Float64Array(oh * ow * 3);
  for (let oy = 0; oy < oh; oy++) {
    const wy = weights(oy, h);
    for (let ox = 0; ox < ow; ox++) {
      const wx = weights(ox, w);
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (const [y, a] of wy) for (const [x, b] of wx) s += a * b * src[(y * w + x) * 3 + c];
        out[(oy * ow + ox) * 3 + c] = s;
      }
    }
  }
  return out;
}

describe('cv2-style resize', () => {
  const src = wrapImage(9, 7, Float32Array.from(fixture.src7x9));

  it.each(fixture.cv.map((c) => [c.mode, c.outW, c.outH, c] as const))(
    '%s to %ix%i matches torch interpolate (align_corners=False)',
    (mode, outW, outH, c) => {
      const out = resizeCv(src, outW, outH, mode);
      expect([out.width, out.height]).toEqual([outW, outH]);
      expect(maxAbsDiff(out.data, c.out)).toBeLessThan(2e-6);
    },
  );

  it.each(CV_INTERPOLATIONS)('%s gives the requested size and preserves a constant image', (mode) => {
    for (const [w, h] of [[5, 4], [40, 31], [17, 17], [3, 50]]) {
      const out = resizeCv(constantImage(17, 13, 0.37), w, h, mode);
      expect([out.width, out.height]).toEqual([w, h]);
      expect(maxAbsDiff(out.data, new Float32Array(w * h * 3).fill(0.37))).toBeLessThan(1e-6);
    }
  });

  it('area shrink by 2.5 weighs partial pixels by their covered fraction', () => {
    // Column value = column index. Output 0 covers [0, 2.5): (0 + 1 + 0.5*2) / 2.5 = 0.8;
    // output 1 covers [2.5, 5): (0.5*2 + 3 + 4) / 2.5 = 3.2. Rows are constant, so the vertical pass keeps them.
    const img = constantImage(5, 5, 0);
    for (let i = 0; i < img.data.length; i++) img.data[i] = Math.floor(i / 3) % 5;
    const out = resizeCv(img, 2, 2, 'area');
    expect(Array.from(out.data).map((v) => +v.toFixed(5))).toEqual([0.8, 0.8, 0.8, 3.2, 3.2, 3.2, 0.8, 0.8, 0.8, 3.2, 3.2, 3.2]);
  });

  it('area shrink by an integer factor is the block mean', () => {
    const img = randomImage(8, 6, 3);
    const out = resizeCv(img, 4, 3, 'area');
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) s += img.data[((2 * y + dy) * 8 + 2 * x + dx) * 3 + c];
          expect(out.data[(y * 4 + x) * 3 + c]).toBeCloseTo(s / 4, 6);
        }
      }
    }
  });

  it('area enlargement keeps edge pixels and interpolates between them', () => {
    const img = randomImage(4, 4, 5);
    const out = resizeCv(img, 8, 8, 'area');
    expect(out.data[0]).toBeCloseTo(img.data[0], 6);
    const last = (8 * 8 - 1) * 3;
    expect(out.data[last]).toBeCloseTo(img.data[(4 * 4 - 1) * 3], 6);
  });
});

describe('MATLAB bicubic imresize', () => {
  const big = wrapImage(18, 16, Float32Array.from(fixture.src16x18));

  it('halving matches a float64 loop written from the definition (borders included)', () => {
    const out = imresizeBicubic(big, 0.5, true);
    expect([out.width, out.height]).toEqual([9, 8]);
    expect(maxAbsDiff(out.data, imresizeReference(big.data, 16, 18, 0.5))).toBeLessThan(1e-6);
  });

  it('halving matches torch antialiased bicubic away from the borders', () => {
    const out = imresizeBicubic(big, 0.5, true);
    const ref = fixture.imresizeHalf.out;
    for (let y = 2; y <= 5; y++) {
      for (let x = 2; x <= 6; x++) {
        for (let c = 0; c < 3; c++) {
          const i = (y * 9 + x) * 3 + c;
          expect(Math.abs(out.data[i] - ref[i])).toBeLessThan(2e-6);
        }
      }
    }
  });

  it('gives ceil(size*scale) and preserves a constant image, for odd sizes too', () => {
    const out = imresizeBicubic(constantImage(13, 7, 0.6), 0.5);
    expect([out.width, out.height]).toEqual([7, 4]);
    expect(maxAbsDiff(out.data, new Float32Array(7 * 4 * 3).fill(0.6))).toBeLessThan(1e-6);
    const up = imresizeBicubic(randomImage(5, 6, 2), 2);
    expect([up.width, up.height]).toEqual([10, 12]);
  });
});
