import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { ddimReconstruct, ddimStep, ddimTimes, diffusionLoss, mixWeight, qSample, restore } from '../../src/diffusion/gaussian.js';
import { cosineSchedule } from '../../src/diffusion/schedule.js';
import { Rng } from '../../src/util/rng.js';

const ab = cosineSchedule(1000).alphaBar;
const SHAPE: [number, number, number, number] = [2, 3, 4, 3];
const N = SHAPE.reduce((a, b) => a * b, 1);
const PER = N / SHAPE[0];

function randomValues(seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: N }, () => scale * r.range(-1, 1));
}

/**
 * A fixed x0-predictor, used as the reference computation for the sampler maths (not a stand-in for the
 * code under test): x̂0 = 1.5·x + 0.01·t, which leaves [−1,1] so the clamp is exercised. `fake` is its
 * tfjs form, `fake64` its float64 form.
 */
const fake = (x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D =>
  tf.add(tf.mul(x, 1.5), tf.reshape(tf.mul(tf.cast(t, 'float32'), 0.01), [-1, 1, 1, 1]));
const fake64 = (x: number, t: number): number => 1.5 * x + 0.01 * t;
const clamp = (v: number): number => Math.min(1, Math.max(-1, v));

function expectClose(got: tf.Tensor, want: ArrayLike<number>, tol: number): void {
  const g = got.dataSync();
  expect(g.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs((g[i] as number) - (want[i] as number)));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** float64 DDIM step (METHOD §1.6) for per-sample τ on flat data. */
function ddimStep64(x: Float64Array, tau: number, next: number, eta: number, z: Float32Array | null): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = clamp(fake64(x[i] as number, tau));
    if (next < 0) {
      out[i] = x0;
      continue;
    }
    const a = ab[tau] as number;
    const an = ab[next] as number;
    const eps = ((x[i] as number) / Math.sqrt(a) - x0) / Math.sqrt(1 / a - 1);
    const sigma = eta * Math.sqrt(((1 - a / an) * (1 - an)) / (1 - a));
    const c = Math.sqrt(1 - an - sigma * sigma);
    out[i] = Math.sqrt(an) * x0 + c * eps + (sigma === 0 ? 0 : sigma * (z![i] as number));
  }
  return out;
}

describe('ddimTimes', () => {
  it('keeps the reference step list with its off-by-one for t*=5', () => {
    expect(ddimTimes(5)).toEqual([4, 3, 2, 1, 0, 0, -1]);
  });
  it('equals torch.linspace(-1, t*-1, t*+2).int() reversed (recorded with PyTorch 1.13)', () => {
    expect(ddimTimes(1)).toEqual([0, 0, -1]);
    expect(ddimTimes(10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, -1]);
    const t100 = ddimTimes(100);
    expect(t100.length).toBe(102);
    expect(t100.slice(0, 5)).toEqual([99, 98, 97, 96, 95]);
    expect(t100.slice(-5)).toEqual([2, 1, 0, 0, -1]);
  });
});

describe('qSample', () => {
  it('matches a float64 loop', () => {
    const x0 = randomValues(1);
    const noise = randomValues(2, 2);
    const t = [5, 99];
    const got = tf.tidy(() => qSample(tf.tensor4d(x0, SHAPE), t, tf.tensor4d(noise, SHAPE)));
    const want = Array.from(x0, (v, i) => {
      const a = ab[t[Math.floor(i / PER)] as number] as number;
      return Math.sqrt(a) * v + Math.sqrt(1 - a) * (noise[i] as number);
    });
    expectClose(got, want, 1e-6);
    got.dispose();
  });

  it('refuses out-of-range timesteps', () => {
    const x = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => qSample(x, [1000], x)).toThrow(/\[0, 1000\)/);
    x.dispose();
  });
});

describe('DDIM reverse process', () => {
  it('one step (4 -> 3, eta 1) matches a float64 reference', () => {
    const x = randomValues(3);
    const got = tf.tidy(() => ddimStep(fake, tf.tensor4d(x, SHAPE), 4, 3, new Rng('z')));
    const z = new Rng('z').normalArray(N);
    expectClose(got, ddimStep64(Float64Array.from(x), 4, 3, 1, z), 1e-5);
    got.dispose();
  });

  it('the full t*=5 reconstruction matches a float64 loop over [4,3,2,1,0,0,-1]', () => {
    const x = randomValues(4);
    const before = tf.memory().numTensors;
    const xT = tf.tensor4d(x, SHAPE);
    const got = ddimReconstruct(fake, xT, 5, new Rng('r'));
    xT.dispose();
    const rng = new Rng('r');
    let ref: Float64Array = Float64Array.from(x);
    const times = [4, 3, 2, 1, 0, 0, -1];
    for (let i = 0; i + 1 < times.length; i++) {
      const z = times[i + 1]! >= 0 && times[i + 1] !== times[i] ? rng.normalArray(N) : null; // σ = 0 for (0→0): no draw
      ref = ddimStep64(ref, times[i]!, times[i + 1]!, 1, z);
    }
    expectClose(got, ref, 1e-4);
    got.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('restore (eta 0) is deterministic DDIM from the unnoised LQ image', () => {
    const x = randomValues(5, 0.5);
    const lq = tf.tensor4d(x, SHAPE);
    const got = restore(fake, lq, 3);
    const again = restore(fake, lq, 3);
    let ref: Float64Array = Float64Array.from(x);
    const times = ddimTimes(3);
    for (let i = 0; i + 1 < times.length; i++) ref = ddimStep64(ref, times[i]!, times[i + 1]!, 0, new Float32Array(N));
    expectClose(got, ref, 1e-4);
    expectClose(again, got.dataSync(), 0);
    tf.dispose([lq, got, again]);
  });
});

describe('diffusionLoss', () => {
  it('matches a float64 computation of the extended-DDPM loss with the same draws', () => {
    const hq = randomValues(6);
    const lq = randomValues(7);
    const loss = tf.tidy(() => diffusionLoss(fake, tf.tensor4d(hq, SHAPE), tf.tensor4d(lq, SHAPE), new Rng('loss')));
    // Same draw order as documented: t per sample, then the noise.
    const rng = new Rng('loss');
    const t = [rng.int(0, 99), rng.int(0, 99)];
    const noise = rng.normalArray(N);
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const ti = t[Math.floor(i / PER)]!;
      const a = mixWeight(ti, 100);
      const mix = (1 - a) * hq[i]! + a * lq[i]!;
      const xt = Math.sqrt(ab[ti]!) * mix + Math.sqrt(1 - ab[ti]!) * noise[i]!;
      sum += (fake64(xt, ti) - hq[i]!) ** 2;
    }
    expect(loss.dataSync()[0]).toBeCloseTo(sum / N, 5);
    loss.dispose();
  });

  it('draws t only from the time bound', () => {
    const rng = new Rng(0);
    const seen = new Set<number>();
    const x = tf.zeros([1, 1, 1, 3]) as tf.Tensor4D;
    const record = (xt: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
      seen.add(t.dataSync()[0] as number);
      return xt;
    };
    for (let i = 0; i < 200; i++) tf.tidy(() => diffusionLoss(record, x, x, rng, { timeBound: [3, 6] }));
    x.dispose();
    expect([...seen].sort()).toEqual([3, 4, 5]);
  });
});
