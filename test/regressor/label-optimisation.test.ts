import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import {
  computeCentres,
  computeEdiffiqaLosses,
  computeEdiffiqaValLoss,
  computeHqThreshold,
  optimiseLabels,
  selectIdentities,
} from '../../src/regressor/label-optimisation.js';
import { computeLabelRange, normaliseLabel, splitByLabel } from '../../src/train/regressor-labels.js';
import { Rng } from '../../src/util/rng.js';

/** float64 reference of cos, q* and the losses (METHOD §4.3), written as plain loops. */
function cos64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function rows(data: Float32Array, b: number, d: number): Float32Array[] {
  return Array.from({ length: b }, (_, i) => data.subarray(i * d, (i + 1) * d));
}

describe('eDifFIQA data preparation (METHOD §4.2)', () => {
  it('tau is the score at rank floor(beta*N) of the descending order', () => {
    const scores = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4, 1.0];
    expect(computeHqThreshold(scores, 0.2)).toBe(0.8); // sorted desc: 1.0 0.9 [0.8] ...
    expect(computeHqThreshold(scores, 0)).toBe(1.0);
    expect(computeHqThreshold(scores, 1)).toBe(0.1); // clamped to the last rank
  });

  it('drops identities with fewer than minHq HQ images (with all their images) and averages centres', () => {
    const identity = ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'c', 'c', 'c'];
    const scores = [0.9, 0.95, 0.1, 0.99, 0.2, 0.91, 0.92, 0.3, 0.93, 0.4];
    // beta 0.6: desc order 0.99 .95 .93 .92 .91 .9 [.4] ... -> tau 0.4 at rank 6
    const sel = selectIdentities(identity, scores, 0.6, 2);
    expect(sel.tau).toBe(0.4);
    expect(sel.identities).toEqual(['a', 'c']); // b has one HQ image (0.99)
    expect(sel.hqMembers).toEqual([[0, 1], [5, 6, 8, 9]]);
    expect(sel.keptItems).toEqual([0, 1, 2, 5, 6, 7, 8, 9]);
    expect(sel.centreOf).toEqual([0, 0, 0, -1, -1, 1, 1, 1, 1, 1]);
    const emb = (i: number): Float32Array => Float32Array.from([i, 2 * i, -i]);
    const c = computeCentres(sel.hqMembers, emb);
    expect(Array.from(c[0]!)).toEqual([0.5, 1, -0.5]);
    expect(Array.from(c[1]!)).toEqual([7, 14, -7]);
  });

  it('min-max normalises and splits every 10th item by sorted label into validation', () => {
    const r = computeLabelRange([0.7, 0.8, 0.75, 0.9]);
    expect(r).toEqual({ min: 0.7, max: 0.9 });
    expect(normaliseLabel(0.8, r)).toBeCloseTo(0.5, 12);
    expect(() => computeLabelRange([0.5, 0.5])).toThrow(/min-max/);
    const labels = Array.from({ length: 25 }, (_, i) => (i * 7) % 25); // a permutation of 0..24
    const { train, val } = splitByLabel(labels, 10);
    expect(val.map((i) => labels[i]).sort((a, b) => a - b)).toEqual([0, 10, 20]);
    expect(train.length + val.length).toBe(25);
  });
});

describe('label optimisation and losses vs a float64 reference (METHOD §4.3)', () => {
  const B = 6;
  const D = 5;
  const rng = new Rng(3);
  const f = rng.normalArray(B * D);
  const c = rng.normalArray(B * D);
  const t = rng.normalArray(B * D);
  // Labels near both ends so that the clip to [0,1] is exercised.
  const q = Float32Array.from([0.02, 0.98, 0.5, 0.1, 1, 0]);
  const qHat = Float32Array.from([0.1, 0.7, 0.55, -0.2, 1.3, 0.05]);
  const eps = 0.5;
  const theta = 0.5;
  const qStar64 = rows(f, B, D).map((fi, i) => Math.min(1, Math.max(0, q[i]! - eps * (1 - cos64(fi, rows(c, B, D)[i]!)))));
  const lq64 = qStar64.reduce((s, v, i) => s + Math.abs(qHat[i]! - v), 0) / B;
  const lrc64 = rows(f, B, D).reduce((s, fi, i) => s + 1 - cos64(fi, rows(t, B, D)[i]!), 0) / B;

  it('q*, L_q, L_rc and the total match within 1e-6', () => {
    const [tq, tf2, tc, tt, tqh] = [tf.tensor1d(q), tf.tensor2d(f, [B, D]), tf.tensor2d(c, [B, D]), tf.tensor2d(t, [B, D]), tf.tensor1d(qHat)];
    const qs = optimiseLabels(tq, tf2, tc, eps);
    const got = Array.from(qs.dataSync());
    got.forEach((v, i) => expect(Math.abs(v - qStar64[i]!)).toBeLessThan(1e-6));
    expect(qStar64.some((v) => v === 0)).toBe(true); // the clip is active in this case
    const l = computeEdiffiqaLosses(tqh, tq, tf2, tc, tt, { eps, theta });
    expect(Math.abs(l.quality.dataSync()[0]! - lq64)).toBeLessThan(1e-6);
    expect(Math.abs(l.consistency.dataSync()[0]! - lrc64)).toBeLessThan(1e-6);
    expect(Math.abs(l.total.dataSync()[0]! - (theta * lrc64 + (1 - theta) * lq64))).toBeLessThan(1e-6);
    tf.dispose([tq, tf2, tc, tt, tqh, qs, l.total, l.quality, l.consistency]);
  });

  it('the validation loss weights as the reference ranks epochs: theta*L_rc + (1-theta)*L1, no label optimisation', () => {
    const [tq, tf2, tt, tqh] = [tf.tensor1d(q), tf.tensor2d(f, [B, D]), tf.tensor2d(t, [B, D]), tf.tensor1d(qHat)];
    const l1 = Array.from(qHat).reduce((s, x, i) => s + Math.abs(x - q[i]!), 0) / B;
    // theta 0.3 tells the reference weighting from both METHOD's L1 + theta*L_rc and the swapped weights.
    for (const th of [0.3, 0.5, 0.8]) {
      const v = computeEdiffiqaValLoss(tqh, tq, tf2, tt, th);
      expect(Math.abs(v.dataSync()[0]! - (th * lrc64 + (1 - th) * l1))).toBeLessThan(1e-6);
      v.dispose();
    }
    tf.dispose([tq, tf2, tt, tqh]);
  });

  it('no gradient flows through the positional factor d(x): dL_q/df = 0, dL_q/dq_hat = sign/B', () => {
    const [tq, tc, tt] = [tf.tensor1d(q), tf.tensor2d(c, [B, D]), tf.tensor2d(t, [B, D])];
    const gradOf = tf.grads((qh: tf.Tensor, fx: tf.Tensor) =>
      computeEdiffiqaLosses(qh as tf.Tensor1D, tq, fx as tf.Tensor2D, tc, tt, { eps, theta: 0 }).total,
    );
    const [gq, gf] = gradOf([tf.tensor1d(qHat), tf.tensor2d(f, [B, D])]);
    expect(Array.from(gf!.dataSync()).every((x) => x === 0)).toBe(true);
    Array.from(gq!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(Math.sign(qHat[i]! - qStar64[i]!) / B, 6));
    tf.dispose([tq, tc, tt, gq!, gf!]);
  });
});
