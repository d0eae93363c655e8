import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { diffusionLoss } from '../../src/diffusion/gaussian.js';
import { PAPER_UNET, type UnetConfig, countUnetParams, createUnet, unetParamSpecs } from '../../src/diffusion/unet.js';
import { Rng } from '../../src/util/rng.js';

// Tiny shapes (STYLE §2.7); narrow attention keeps a CPU training step well under a second.
const TINY: UnetConfig = {
  ...PAPER_UNET,
  dim: 8,
  dimMults: [1, 2],
  resnetBlockGroups: 2,
  imageSize: 16,
  linearAttnDimHead: 8,
  fullAttnDimHead: 8,
};

describe('UNet parameters', () => {
  it('the paper config has 142.9 M parameters (METHOD §1.1), counted without allocating', () => {
    expect(countUnetParams(PAPER_UNET)).toBe(142_872_835);
  });

  it('uses the reference module names', () => {
    const names = unetParamSpecs(PAPER_UNET).map((s) => s.name);
    for (const n of [
      'init_conv.weight',
      'time_mlp.1.weight',
      'time_mlp.3.bias',
      'downs.0.0.block1.proj.weight',
      'downs.0.0.block1.norm.weight',
      'downs.0.0.mlp.1.weight',
      'downs.0.2.fn.fn.to_qkv.weight',
      'downs.0.2.fn.fn.to_out.1.g',
      'downs.0.2.fn.norm.g',
      'downs.3.3.weight',
      'mid_attn.fn.fn.to_out.weight',
      'ups.0.0.res_conv.weight',
      'ups.0.3.1.weight',
      'ups.3.3.weight',
      'final_res_block.res_conv.weight',
      'final_conv.bias',
    ]) {
      expect(names).toContain(n);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});

/** A tiny UNet on 8x8 images (two levels need only divisibility by 2: cheap backward passes) and one fixed batch. */
function tinyBatch(seed: number): { unet: ReturnType<typeof createUnet>; hq: tf.Tensor4D; lq: tf.Tensor4D } {
  const unet = createUnet({ ...TINY, imageSize: 8 }, new Rng(seed));
  const hq = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', seed) as tf.Tensor4D;
  const lq = tf.tidy(() => tf.clipByValue(tf.add(hq, tf.randomNormal(hq.shape, 0, 0.3, 'float32', seed + 1)), -1, 1)) as tf.Tensor4D;
  return { unet, hq, lq };
}

// cpu always; native too when its addon is built (same suite, every backend).
const BACKENDS = ['cpu', 'native'].filter((b) => tf.findBackendFactory(b) !== null);

describe.each(BACKENDS)('createUnet on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('maps [B,H,W,3] to [B,H,W,3] without leaking tensors', () => {
    const start = tf.memory().numTensors;
    const unet = createUnet(TINY, new Rng(1));
    expect(unet.params.countTrainable()).toBe(countUnetParams(TINY));
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const t = tf.tensor1d([0, 99], 'int32');
    const fresh = tf.memory().numTensors;
    // The first forward caches each standardised conv weight in the ParamStore (one tensor per WS conv, freed with
    // it); after that, forwards add nothing.
    tf.dispose(tf.tidy(() => unet.apply(x, t)));
    const wsConvs = unet.params.names().filter((n) => /block[12]\.proj\.weight$/.test(n)).length;
    expect(tf.memory().numTensors - fresh).toBe(wsConvs);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const y = unet.apply(x, t);
      expect(y.shape).toEqual([2, 16, 16, 3]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose(y);
      tf.dispose(tf.tidy(() => unet.apply(x, t)));
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, t]);
    unet.dispose();
    expect(tf.memory().numTensors).toBe(start); // the cached weights went with the store
  });

  it('caches standardised weights only outside gradient recording, and recomputes them when a weight changes', () => {
    const unet = createUnet(TINY, new Rng(4));
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const t = tf.tensor1d([7], 'int32');
    const run = () => tf.tidy(() => Array.from(unet.apply(x, t).dataSync()));
    const first = run();
    expect(run()).toEqual(first); // the second forward reads the cache: the same bits
    const w = unet.params.get(unet.params.names().find((n) => n.endsWith('block1.proj.weight'))!);
    // A changed weight (a new data id, as every optimiser step and checkpoint load gives) is standardised afresh...
    tf.tidy(() => w.assign(tf.add(w, tf.randomNormal(w.shape, 0, 0.1, 'float32', 5)) as tf.Tensor4D));
    const cached = run();
    expect(cached).not.toEqual(first);
    // ...to the bits the in-graph standardisation gives under a tape, where the raw weight gets its gradient.
    const { value, grads } = tf.variableGrads(() => tf.sum(unet.apply(x, t)) as tf.Scalar, [w]);
    expect(tf.tidy(() => tf.max(tf.abs(grads[w.name]!)).dataSync()[0])).toBeGreaterThan(0);
    expect(value.dataSync()[0]).toBe(tf.tidy(() => tf.sum(tf.tensor(cached)).dataSync()[0]));
    tf.dispose([value, ...Object.values(grads), x, t]);
    unet.dispose();
  });

  it('depends on the timestep and on fixAttentionNorm', () => {
    const a = createUnet(TINY, new Rng(2));
    const b = createUnet({ ...TINY, fixAttentionNorm: true }, new Rng(2));
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const diff = (p: tf.Tensor, q: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0] as number);
    tf.tidy(() => {
      const y0 = a.apply(x, tf.tensor1d([0], 'int32'));
      expect(diff(y0, a.apply(x, tf.tensor1d([50], 'int32')))).toBeGreaterThan(1e-4);
      expect(diff(y0, b.apply(x, tf.tensor1d([0], 'int32')))).toBeGreaterThan(1e-6);
    });
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });

  it('trains: every parameter gets a gradient and the loss falls on one batch, memory flat', () => {
    const { unet, hq, lq } = tinyBatch(3);
    const opt = tf.train.adam(2e-3, 0.9, 0.99);
    const losses: number[] = [];
    let after = -1;
    for (let step = 0; step < 5; step++) {
      // Same draws every step: loss on one fixed batch.
      const { value, grads } = tf.variableGrads(() => diffusionLoss(unet, hq, lq, new Rng('batch')), unet.params.trainable());
      if (step === 0) {
        for (const name of unet.params.names()) {
          const g = grads[unet.params.get(name).name];
          expect(g, name).toBeDefined();
          expect(tf.tidy(() => tf.max(tf.abs(g!)).dataSync()[0]), name).toBeGreaterThan(0);
        }
      }
      opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      losses.push(value.dataSync()[0] as number);
      tf.dispose([value, ...Object.values(grads)]);
      if (step === 1) after = tf.memory().numTensors;
      if (step > 1) expect(tf.memory().numTensors).toBe(after);
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]!);
    opt.dispose();
    tf.dispose([hq, lq]);
    unet.dispose();
  });

  // The fastest backend only: on tfjs cpu the ~30 Adam steps this needs take minutes (its conv filter gradient).
  it.skipIf(backend === 'cpu' && BACKENDS.includes('native'))('overfits one batch: the loss falls at least 10x', () => {
    // Fixed draws (t, noise, mixing) every step, as the overfit check asks: the net must learn to map this
    // batch's noisy HQ/LQ mix back to its HQ images.
    const { unet, hq, lq } = tinyBatch(5);
    const opt = tf.train.adam(3e-3, 0.9, 0.99);
    const losses: number[] = [];
    for (let step = 0; step < 150; step++) {
      const { value, grads } = tf.variableGrads(() => diffusionLoss(unet, hq, lq, new Rng('overfit')), unet.params.trainable());
      opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      losses.push(value.dataSync()[0] as number);
      tf.dispose([value, ...Object.values(grads)]);
      if (losses[losses.length - 1]! < losses[0]! / 12) break;
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]! / 10);
    opt.dispose();
    tf.dispose([hq, lq]);
    unet.dispose();
  });
});
