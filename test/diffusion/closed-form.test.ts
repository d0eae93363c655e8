/**
 * The extended-DDPM training maths (METHOD §1.2, §1.3) against closed forms computed here in float64, independently
 * of src: the mix weight a(t) = sin((t/T)·π/2) from exact trigonometric values and a Taylor series (not Math.sin
 * through mixWeight), ᾱ_t from the cosine formula of §1.2 (not cosineSchedule), and the loss of `diffusionLoss`
 * recomputed from the draws it actually made (a recording Rng hands back its t and ε, so the check does not
 * depend on the draw order). gaussian.test.ts compares the loss with mixWeight and cosineSchedule themselves;
 * this file pins both to METHOD.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { diffusionLoss, mixWeight } from '../../src/diffusion/gaussian.js';
import { Rng } from '../../src/util/rng.js';

/** sin(x) by its Taylor series (|x| ≤ π/2: 15 terms reach float64 precision). */
function sinSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let k = 1; k < 15; k++) {
    term *= (-x * x) / ((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}

/** METHOD §1.3 step 3: a(t) = sin((t/T)·π/2). */
const a64 = (t: number, T: number): number => sinSeries((t / T) * (Math.PI / 2));

/**
 * METHOD §1.2: f(x) = cos²(((x/1000)+s)/(1+s)·π/2), s = 0.008, β_t = 1 − f(t+1)/f(t) (clip inactive for t < 999),
 * so ᾱ_t = Π_{i≤t}(1−β_i) telescopes to f(t+1)/f(0).
 */
function alphaBar64(t: number): number {
  const s = 0.008;
  const f = (x: number): number => Math.cos(((x / 1000 + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return f(t + 1) / f(0);
}

/** An Rng that hands back what diffusionLoss drew from it: the integers (t) and the normal arrays (ε). */
class RecordingRng extends Rng {
  ints: number[] = [];
  normals: Float32Array[] = [];
  override int(lo: number, hi: number): number {
    const v = super.int(lo, hi);
    this.ints.push(v);
    return v;
  }
  override normalArray(n: number): Float32Array {
    const v = super.normalArray(n);
    this.normals.push(v);
    return v;
  }
}

describe('mixWeight: a(t) = sin((t/T)·π/2) (METHOD §1.3)', () => {
  it('hits the exact values at multiples of π/12, including t = 0 (pure HQ) and t = T (pure LQ)', () => {
    // T = 600: t = 100k gives the angle kπ/12.
    const exact: [number, number][] = [
      [0, 0],
      [100, (Math.sqrt(6) - Math.sqrt(2)) / 4],
      [200, 0.5],
      [300, Math.SQRT1_2],
      [400, Math.sqrt(3) / 2],
      [500, (Math.sqrt(6) + Math.sqrt(2)) / 4],
      [600, 1],
    ];
    for (const [t, want] of exact) expect(Math.abs(mixWeight(t, 600) - want), `t=${t}`).toBeLessThanOrEqual(1e-15);
  });

  it('with the trained T = 100: a(0) = 0, a(50) = √2/2 ≈ 0.707, a(100) = 1, and matches the series at every t', () => {
    expect(mixWeight(0, 100)).toBe(0);
    expect(Math.abs(mixWeight(50, 100) - Math.SQRT1_2)).toBeLessThanOrEqual(1e-15);
    expect(Math.abs(mixWeight(100, 100) - 1)).toBeLessThanOrEqual(1e-15);
    expect(mixWeight(99, 100)).toBeGreaterThan(0.9998); // "t = 99 is ≈ pure LQ"
    for (let t = 0; t <= 100; t++) {
      expect(Math.abs(mixWeight(t, 100) - a64(t, 100)), `t=${t}`).toBeLessThanOrEqual(1e-15);
      if (t > 0) expect(mixWeight(t, 100)).toBeGreaterThan(mixWeight(t - 1, 100));
    }
    for (const [t, T] of [[1, 1000], [333, 1000], [999, 1000], [7, 10]] as const) {
      expect(Math.abs(mixWeight(t, T) - a64(t, T)), `t=${t}, T=${T}`).toBeLessThanOrEqual(1e-15);
    }
  });
});

describe('diffusionLoss vs a float64 closed form (METHOD §1.2-1.3)', () => {
  it('the closed-form ᾱ used below reproduces the derived values of METHOD §1.2', () => {
    expect(alphaBar64(0)).toBeCloseTo(0.999959, 6);
    expect(alphaBar64(4)).toBeCloseTo(0.999745, 6);
    expect(alphaBar64(5)).toBeCloseTo(0.999679, 6);
    expect(Math.sqrt(1 - alphaBar64(5))).toBeCloseTo(0.0179, 4);
    expect(alphaBar64(99)).toBeCloseTo(0.97209, 5);
  });

  it('x_t fed to the model and the loss equal √ᾱ·((1−a)·hq + a·lq) + √(1−ᾱ)·ε and mean((x̂0 − hq)²)', () => {
    const shape: [number, number, number, number] = [3, 4, 4, 3];
    const n = shape.reduce((p, q) => p * q, 1);
    const per = n / shape[0];
    const src = new Rng('closed-form-data');
    const hq = Float32Array.from({ length: n }, () => src.range(-1, 1));
    const lq = Float32Array.from({ length: n }, () => src.range(-1, 1));
    // A fixed x0-predictor as the reference's stand-in network: x̂0 = 1.5·x_t + 0.01·t.
    let seenX: Float32Array | null = null;
    let seenT: number[] = [];
    const model = (x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
      seenX = x.dataSync() as Float32Array;
      seenT = Array.from(t.dataSync());
      return tf.add(tf.mul(x, 1.5), tf.reshape(tf.mul(tf.cast(t, 'float32'), 0.01), [-1, 1, 1, 1]));
    };
    const rng = new RecordingRng('closed-form-loss');
    const before = tf.memory().numTensors;
    const hqT = tf.tensor4d(hq, shape);
    const lqT = tf.tensor4d(lq, shape);
    const lossT = diffusionLoss(model, hqT, lqT, rng); // defaults: time bound [0, 100), T = 100, cosine(1000)
    const loss = lossT.dataSync()[0] as number;
    tf.dispose([hqT, lqT, lossT]);
    expect(tf.memory().numTensors).toBe(before);

    // What was drawn: one t per sample in {0..99}, one ε per element.
    const t = rng.ints;
    expect(t.length).toBe(shape[0]);
    expect(seenT).toEqual(t);
    for (const v of t) expect(v >= 0 && v <= 99 && Number.isInteger(v)).toBe(true);
    expect(Math.max(...t)).toBeGreaterThan(20); // the LQ side must matter for the checks below
    expect(rng.normals.length).toBe(1);
    const eps = rng.normals[0]!;
    expect(eps.length).toBe(n);

    let want = 0;
    let wantIfTargetWereMix = 0;
    let worstX = 0;
    for (let i = 0; i < n; i++) {
      const ti = t[Math.floor(i / per)]!;
      const ab = alphaBar64(ti);
      const a = a64(ti, 100);
      const mix = (1 - a) * hq[i]! + a * lq[i]!;
      const xt = Math.sqrt(ab) * mix + Math.sqrt(1 - ab) * eps[i]!;
      worstX = Math.max(worstX, Math.abs(seenX![i]! - xt));
      const x0 = 1.5 * xt + 0.01 * ti;
      want += (x0 - hq[i]!) ** 2;
      wantIfTargetWereMix += (x0 - mix) ** 2;
    }
    want /= n;
    wantIfTargetWereMix /= n;
    expect(worstX).toBeLessThanOrEqual(2e-6); // float32 arithmetic on values of order 1
    expect(Math.abs(loss - want)).toBeLessThanOrEqual(1e-5 * want);
    // The target is x_hq (METHOD §1.3 step 5), not x_mix: the two candidate losses are far apart here.
    expect(Math.abs(wantIfTargetWereMix - want)).toBeGreaterThan(1e-2 * want);
  });

  it('draws t ~ U{0..99} by default (time_bound [0, 100)): min 0, max 99, every value, mean 49.5', () => {
    const b = 5000;
    const x = tf.zeros([b, 1, 1, 1]) as tf.Tensor4D;
    const rng = new RecordingRng('closed-form-t');
    tf.tidy(() => diffusionLoss((xt) => xt, x, x, rng));
    x.dispose();
    const t = rng.ints;
    expect(t.length).toBe(b);
    expect(Math.min(...t)).toBe(0);
    expect(Math.max(...t)).toBe(99);
    expect(new Set(t).size).toBe(100);
    const mean = t.reduce((p, q) => p + q, 0) / b;
    const se = Math.sqrt((100 * 100 - 1) / 12 / b);
    expect(Math.abs(mean - 49.5)).toBeLessThanOrEqual(5 * se);
  });
});
