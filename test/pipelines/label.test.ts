import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { ddimTimes } from '../../src/diffusion/gaussian.js';
import { cosineSchedule } from '../../src/diffusion/schedule.js';
import type { FrModel } from '../../src/fr/types.js';
import { labelBatch, type LabelOptions } from '../../src/pipelines/label.js';
import { Rng, deriveSeed } from '../../src/util/rng.js';

const H = 4;
const W = 4;
const PIX = H * W * 3;
const DIM = 6;
const schedule = cosineSchedule(1000);

/** A linear "FR model": flatten [0,1] pixels and project with a fixed random matrix. */
const proj = new Rng('proj').normalArray(PIX * DIM);
const fr: FrModel = {
  name: 'linear-test',
  inputSize: H,
  embeddingDim: DIM,
  embed: (x) => tf.tidy(() => tf.matMul(tf.reshape(x, [x.shape[0], PIX]), tf.tensor2d(proj, [PIX, DIM]))),
  dispose: () => {},
};
/** A smooth stand-in denoiser: shrinks x_t towards 0 by a t-dependent factor. */
const denoiser = (x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D =>
  tf.tidy(() => tf.mul(x, tf.reshape(tf.sub(0.9, tf.mul(tf.cast(t, 'float32'), 0.01)), [-1, 1, 1, 1])) as tf.Tensor4D);

function embedRef(img01: Float64Array): Float64Array {
  const e = new Float64Array(DIM);
  for (let d = 0; d < DIM; d++) for (let p = 0; p < PIX; p++) e[d]! += img01[p]! * proj[p * DIM + d]!;
  return e;
}
const cos = (a: Float64Array, b: Float64Array): number => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return d / Math.sqrt(na * nb);
};
const flip = (x: Float64Array): Float64Array => {
  const out = new Float64Array(PIX);
  for (let y = 0; y < H; y++) for (let x0 = 0; x0 < W; x0++) for (let c = 0; c < 3; c++) out[(y * W + x0) * 3 + c] = x[(y * W + (W - 1 - x0)) * 3 + c]!;
  return out;
};

/** METHOD §2.2 in float64, one image at a time, drawing noise in the documented order. */
function labelReference(img01: Float64Array, key: string, opts: LabelOptions): number {
  const rng = new Rng(deriveSeed(opts.seed, key));
  const n = opts.repeats;
  const ab = schedule.alphaBar;
  const x = img01.map((v) => 2 * v - 1);
  const copies = [...Array(n).fill(x), ...Array(n).fill(flip(x))] as Float64Array[];
  const eps = rng.normalArray(2 * n * PIX);
  const a = Math.sqrt(ab[opts.tStar]!);
  const s = Math.sqrt(1 - ab[opts.tStar]!);
  const xt = copies.map((cp, r) => cp.map((v, p) => a * v + s * eps[r * PIX + p]!));
  const times = ddimTimes(opts.tStar);
  let cur = xt.map((v) => Float64Array.from(v));
  for (let i = 0; i + 1 < times.length; i++) {
    const tau = times[i]!;
    const next = times[i + 1]!;
    const x0 = cur.map((v) => v.map((p) => Math.min(1, Math.max(-1, Math.fround(p) * Math.fround(0.9 - tau * 0.01)))));
    if (next < 0) {
      cur = x0;
      break;
    }
    const z = rng.normalArray(2 * n * PIX);
    const sig = Math.sqrt(((1 - ab[tau]! / ab[next]!) * (1 - ab[next]!)) / (1 - ab[tau]!));
    const c = Math.sqrt(Math.max(1 - ab[next]! - sig * sig, 0));
    cur = cur.map((v, r) =>
      v.map((p, q) => {
        const e = (p / Math.sqrt(ab[tau]!) - x0[r]![q]!) / Math.sqrt(1 / ab[tau]! - 1);
        return Math.sqrt(ab[next]!) * x0[r]![q]! + c * e + sig * z[r * PIX + q]!;
      }),
    );
  }
  const to01 = (v: Float64Array) => v.map((p) => (p + 1) / 2);
  const e = embedRef(img01);
  const sT = xt.map((v) => cos(embedRef(to01(v)), e));
  const sR = cur.map((v) => cos(embedRef(to01(v)), e));
  const avg = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
  const terms = [avg(sT.slice(0, n)), avg(sR.slice(0, n)), avg(sT.slice(n)), avg(sR.slice(n)), cos(embedRef(flip(img01)), e)];
  return avg(terms);
}

function images(count: number): { data: Float64Array[]; keys: string[] } {
  const r = new Rng('imgs');
  return {
    data: Array.from({ length: count }, () => Float64Array.from({ length: PIX }, () => r.uniform())),
    keys: Array.from({ length: count }, (_, i) => `id${i}/img${i}.jpg`),
  };
}

function run(data: Float64Array[], keys: string[], opts: LabelOptions): number[] {
  const x = tf.tensor4d(Float32Array.from(data.flatMap((d) => [...d])), [data.length, H, W, 3]);
  const out = labelBatch(denoiser, fr, x, keys, opts).map((t) => t.score);
  x.dispose();
  return out;
}

describe('labelBatch', () => {
  const opts: LabelOptions = { tStar: 5, repeats: 3, seed: 42, schedule };

  it('matches a float64 per-image reference of METHOD §2.2', () => {
    const { data, keys } = images(2);
    const got = run(data, keys, opts);
    keys.forEach((k, i) => expect(got[i]).toBeCloseTo(labelReference(data[i]!, k, opts), 5));
  });

  it('gives each image the same score whatever the batch composition and order', () => {
    const { data, keys } = images(3);
    const together = run(data, keys, opts);
    const reversed = run([...data].reverse(), [...keys].reverse(), opts).reverse();
    const single = data.map((d, i) => run([d], [keys[i]!], opts)[0]);
    for (let i = 0; i < 3; i++) {
      expect(reversed[i]).toBeCloseTo(together[i]!, 6);
      expect(single[i]).toBeCloseTo(together[i]!, 6);
    }
    const before = tf.memory().numTensors;
    run(data, keys, opts);
    expect(tf.memory().numTensors).toBe(before);
  });
});
