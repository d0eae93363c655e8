import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import {
  ARCFACE_TEMPLATE_112, applySimilarity, estimateSimilarity, invertSimilarity, type Point, similarityResidual,
} from '../../src/fr/similarity.js';
import { warpSimilarity } from '../../src/fr/warp.js';
import { Rng } from '../../src/util/rng.js';

describe('estimateSimilarity', () => {
  it('recovers a known transform exactly (float64)', () => {
    const s = 1.7, th = 0.4;
    const truth = { a: s * Math.cos(th), b: s * Math.sin(th), tx: -12.5, ty: 33.25 };
    const src: Point[] = [[10, 20], [80, 25], [45, 60], [20, 90], [70, 95]];
    const dst = src.map((p) => applySimilarity(truth, p));
    const est = estimateSimilarity(src, dst);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) expect(Math.abs(est[k] - truth[k])).toBeLessThan(1e-12);
    expect(similarityResidual(est, src, dst)).toBeLessThan(1e-12);
  });

  it('is the least-squares solution: perturbing it increases the residual', () => {
    const rng = new Rng(5);
    const src: Point[] = ARCFACE_TEMPLATE_112.map(([x, y]) => [x * 2 + rng.normal() * 3, y * 2 + rng.normal() * 3]);
    const est = estimateSimilarity(src, ARCFACE_TEMPLATE_112);
    const sq = (t: typeof est): number => similarityResidual(t, src, ARCFACE_TEMPLATE_112) ** 2;
    const base = sq(est);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) {
      for (const d of [1e-3, -1e-3]) expect(sq({ ...est, [k]: est[k] + d })).toBeGreaterThan(base);
    }
    // Scale about 1/2 and no rotation were used to make src.
    expect(Math.hypot(est.a, est.b)).toBeCloseTo(0.5, 1);
  });

  it('inverse composes to the identity', () => {
    const t = { a: 0.8, b: -0.3, tx: 5, ty: -7 };
    const p = applySimilarity(invertSimilarity(t), applySimilarity(t, [3.5, -2]));
    expect(p[0]).toBeCloseTo(3.5, 12);
    expect(p[1]).toBeCloseTo(-2, 12);
  });

  it('rejects degenerate or mismatched point sets', () => {
    expect(() => estimateSimilarity([[1, 1], [1, 1]], [[0, 0], [1, 1]])).toThrow(/coincide/);
    expect(() => estimateSimilarity([[1, 1]], [[0, 0]])).toThrow(/>= 2/);
  });
});

describe('warpSimilarity', () => {
  it('reproduces a linear ramp exactly (bilinear is exact on affine functions) at the mapped coordinates', () => {
    const w = 64, h = 48;
    const f = (x: number, y: number): number => 0.01 * x + 0.02 * y + 0.1;
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(x, y) + c;
    const t = { a: 1.1 * Math.cos(0.2), b: 1.1 * Math.sin(0.2), tx: 5, ty: -3 };
    const out = warpSimilarity({ width: w, height: h, data }, t, 40);
    const inv = invertSimilarity(t);
    let checked = 0;
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 40; x++) {
        const [sx, sy] = applySimilarity(inv, [x, y]);
        if (sx < 0 || sy < 0 || sx > w - 1 || sy > h - 1) continue; // fully inside only
        for (let c = 0; c < 3; c++) expect(Math.abs((out.data[(y * 40 + x) * 3 + c] as number) - (f(sx, sy) + c))).toBeLessThan(1e-5);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(800);
  });

  it('matches tf.image.transform (bilinear, constant 0) as an independent reference', () => {
    const rng = new Rng(9);
    const w = 50, h = 40;
    const data = new Float32Array(w * h * 3).map(() => rng.uniform());
    const t = estimateSimilarity([[10, 12], [35, 14], [22, 30]], [[38.3, 51.7], [73.5, 51.5], [56, 71.7]]);
    const ours = warpSimilarity({ width: w, height: h, data }, t, 112);
    const inv = invertSimilarity(t);
    // tf.image.transform maps output (x,y) to input via [a0 a1 a2 b0 b1 b2 0 0].
    const ref = tf.tidy(() =>
      tf.image
        .transform(tf.tensor4d(data, [1, h, w, 3]), tf.tensor2d([[inv.a, -inv.b, inv.tx, inv.b, inv.a, inv.ty, 0, 0]]), 'bilinear', 'constant', 0, [112, 112])
        .dataSync(),
    );
    let maxErr = 0;
    let n = 0;
    for (let y = 1; y < 111; y++) {
      for (let x = 1; x < 111; x++) {
        const [sx, sy] = applySimilarity(inv, [x, y]);
        if (sx < 0 || sy < 0 || sx > w - 1 || sy > h - 1) continue; // tf treats partial borders differently
        for (let c = 0; c < 3; c++) maxErr = Math.max(maxErr, Math.abs((ours.data[(y * 112 + x) * 3 + c] as number) - (ref[(y * 112 + x) * 3 + c] as number)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(500);
    expect(maxErr).toBeLessThan(1e-5);
  });
});
