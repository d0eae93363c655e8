import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/image-io.js';
import {
  computeEmbeddingNorm,
  computeEmbeddingNormQualities,
  computeLaplacianVariance,
  computeRandomQualities,
} from '../../src/eval/baselines.js';
import { computeEdc } from '../../src/eval/edc.js';
import { computePauc, normalisePauc } from '../../src/eval/pauc.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/util/errors.js';

/** A w x h RGB image whose three channels all equal `gray(y, x)`. */
function grayImage(w: number, h: number, gray: (y: number, x: number) => number): { width: number; height: number; data: Float32Array } {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(gray(y, x), 3 * (y * w + x), 3 * (y * w + x) + 3);
  return { width: w, height: h, data };
}

describe('computeLaplacianVariance', () => {
  it('matches a hand-computed 3x3 impulse', () => {
    // Gray = 1 at the centre, 0 elsewhere (0.299 + 0.587 + 0.114 = 1). Reflect-101 borders: index -1 -> 1, 3 -> 1.
    // Laplacian: centre 0+0+0+0−4·1 = −4; edge midpoints see the centre twice (once reflected): 2; corners 0.
    // Values −4, 2 x4, 0 x4: mean 4/9, E[L²] = (16 + 4·4)/9 = 32/9, variance 32/9 − 16/81 = 272/81.
    expect(computeLaplacianVariance(grayImage(3, 3, (y, x) => (y === 1 && x === 1 ? 1 : 0)))).toBeCloseTo(272 / 81, 6);
  });

  it('uses BT.601 grayscale weights', () => {
    // A pure red 1-pixel dot: gray 0.299 at the centre, so the variance scales by 0.299².
    const img = grayImage(3, 3, () => 0);
    img.data[3 * 4] = 1;
    expect(computeLaplacianVariance(img)).toBeCloseTo((272 / 81) * 0.299 ** 2, 6);
  });

  it('is 0 for a flat image and for a linear ramp, and grows with detail', () => {
    expect(computeLaplacianVariance(grayImage(5, 4, () => 0.3))).toBeCloseTo(0, 12);
    // A linear ramp has zero Laplacian inside, and reflect-101 keeps the borders ramp-like only in the interior;
    // the column ramp 0, .1, .2, .3: at x = 0 the reflected neighbour is x = 1, so L = .1 + .1 − 0 = .2 there,
    // at x = 3 L = .2 + .2 − 2·.3 = −.2, zero in between: values per row (.2, 0, 0, −.2): mean 0, var 0.02.
    expect(computeLaplacianVariance(grayImage(4, 3, (_y, x) => x / 10))).toBeCloseTo(0.02, 7);
    const checker = grayImage(4, 4, (y, x) => (x + y) % 2);
    expect(computeLaplacianVariance(checker)).toBeGreaterThan(10);
  });

  it('rejects bad shapes', () => {
    expect(() => computeLaplacianVariance({ width: 2, height: 2, data: new Float32Array(5) })).toThrow(ShapeError);
  });
});

describe('computeEmbeddingNorm', () => {
  it('is the L2 norm', () => {
    expect(computeEmbeddingNorm(new Float32Array([3, 4]))).toBe(5);
    expect([...computeEmbeddingNormQualities(new Map([['a', new Float32Array([1, 2, 2])]]))]).toEqual([['a', 3]]);
  });
});

describe('computeRandomQualities', () => {
  it('is seeded per path, independent of order', () => {
    const a = computeRandomQualities(['x', 'y', 'z'], 7);
    const b = computeRandomQualities(['z', 'x'], 7);
    expect(b.get('x')).toBe(a.get('x'));
    expect(b.get('z')).toBe(a.get('z'));
    expect(computeRandomQualities(['x'], 8).get('x')).not.toBe(a.get('x'));
  });

  it('gives a normalised pAUC close to 1 over many pairs', () => {
    // 20000 mated scores ~ N(0.5, 0.2) and 20000 non-mated ~ N(0, 0.1), each pair with two fresh images.
    // Random qualities carry no information, so discarding keeps FNMR flat and pAUC_norm ≈ 1.
    const rng = new Rng('random-baseline-test');
    const n = 20000;
    const paths: string[] = [];
    const scores: number[] = [];
    const mated: boolean[] = [];
    for (let i = 0; i < 2 * n; i++) {
      paths.push(`p${i}a`, `p${i}b`);
      mated.push(i < n);
      scores.push(i < n ? 0.5 + 0.2 * rng.normal() : 0.1 * rng.normal());
    }
    const q = computeRandomQualities(paths, 1);
    const pairQ = mated.map((_m, i) => Math.min(q.get(`p${i}a`) as number, q.get(`p${i}b`) as number));
    const curve = computeEdc({ scores, mated, pairQualities: pairQ }, { targetFmr: 1e-3 });
    const fnmr0 = curve.points[0]?.fnmr as number;
    expect(fnmr0).toBeGreaterThan(0.1);
    for (const limit of [0.2, 0.3]) {
      expect(Math.abs(normalisePauc(computePauc(curve.points, limit), fnmr0, limit) - 1)).toBeLessThan(0.03);
    }
  });
});

const LFW_IMAGE = path.resolve(__dirname, '../../../shared/data/lfw-112/images/Abel_Pacheco/Abel_Pacheco_0001.jpg');

describe.skipIf(!fs.existsSync(LFW_IMAGE))('sharpness on a real LFW image (shared/data/lfw-112)', () => {
  it('drops when the image is blurred', async () => {
    const img = await decodeImage(LFW_IMAGE);
    // 3x3 box blur (reflect-101 borders) of every channel: a low-pass filter must lower the Laplacian variance.
    const { width: w, height: h, data } = img;
    const blurred = new Float32Array(data.length);
    const r = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += data[3 * (r(y + dy, h) * w + r(x + dx, w)) + c] as number;
          blurred[3 * (y * w + x) + c] = s / 9;
        }
      }
    }
    const sharp = computeLaplacianVariance(img);
    expect(sharp).toBeGreaterThan(1e-4);
    expect(computeLaplacianVariance({ width: w, height: h, data: blurred })).toBeLessThan(sharp * 0.5);
  });
});
