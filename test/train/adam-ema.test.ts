import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { ParamStore } from '../../src/nn/params.js';
import { Adam } from '../../src/train/adam.js';
import { Ema } from '../../src/train/ema.js';
import { Rng } from '../../src/util/rng.js';

/** PyTorch's Adam update in float64 (torch.optim.Adam, amsgrad off, no weight decay). */
function adamReference(p0: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, i) => {
    const t = i + 1;
    for (let k = 0; k < p.length; k++) {
      m[k] = b1 * m[k]! + (1 - b1) * g[k]!;
      v[k] = b2 * v[k]! + (1 - b2) * g[k]! * g[k]!;
      const denom = Math.sqrt(v[k]!) / Math.sqrt(1 - b2 ** t) + eps;
      p[k] = p[k]! - (lr / (1 - b1 ** t)) * (m[k]! / denom);
    }
  });
  return p;
}

describe('Adam', () => {
  it('matches a float64 PyTorch-semantics reference over several steps', () => {
    const p0 = [0.5, -1.25, 2, 0.01];
    const grads = [
      [0.1, -0.2, 0.3, 0.0],
      [-0.5, 0.25, 0.1, 1e-4],
      [0.05, 0.05, -0.7, 2],
    ];
    const w = tf.variable(tf.tensor1d(p0), true, 'w');
    const opt = new Adam([{ lr: 1e-2, params: [['w', w]] }], { beta1: 0.9, beta2: 0.99 });
    for (const g of grads) {
      const gt = tf.tensor1d(g);
      opt.step({ w: gt });
      gt.dispose();
    }
    const want = adamReference(p0, grads, 1e-2, 0.9, 0.99, 1e-8);
    const got = Array.from(w.dataSync());
    got.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6));
    opt.dispose();
    w.dispose();
  });

  it('clips the global gradient norm like clip_grad_norm_ and leaves frozen variables alone', () => {
    const a = tf.variable(tf.tensor1d([0, 0]), true, 'a');
    const frozen = tf.variable(tf.tensor1d([1, 1]), true, 'frozen');
    const opt = new Adam([{ lr: 1, params: [['a', a]] }], { beta1: 0, beta2: 0, eps: 0, clipGradNorm: 1 });
    const g = tf.tensor1d([3, 4]); // norm 5 -> scaled to ~1
    const norm = opt.step({ a: g, frozen: g });
    expect(norm).toBeCloseTo(5, 6);
    // beta1 = beta2 = 0: the update is lr * g / |g| elementwise = sign(g).
    expect(Array.from(a.dataSync())).toEqual([-1, -1]);
    expect(Array.from(frozen.dataSync())).toEqual([1, 1]);
    [a, frozen, g].forEach((t) => t.dispose());
    opt.dispose();
  });
});

describe('Ema', () => {
  it('copies during warm-up, then follows ema-pytorch decay every updateEvery steps', () => {
    const store = new ParamStore(new Rng(0));
    const w = store.addConst('w', [1], 0);
    const ema = new Ema(store, { beta: 0.995, updateEvery: 10, updateAfterStep: 100 });
    // Step 0..100: copies on multiples of 10.
    for (let s = 0; s <= 100; s++) {
      w.assign(tf.tensor1d([s]));
      ema.update();
    }
    expect(ema.snapshot().get('w')!.data[0]).toBe(100);
    // Step 110 is the first update after warm-up: ema-pytorch's `initted` copy makes it 110 exactly.
    for (let s = 101; s <= 110; s++) {
      w.assign(tf.tensor1d([s]));
      ema.update();
    }
    expect(ema.snapshot().get('w')!.data[0]).toBe(110);
    // Step 120 lerps with the decay of the incremented counter 121: epoch = 121 - 100 - 1 = 20.
    for (let s = 111; s <= 120; s++) {
      w.assign(tf.tensor1d([s]));
      ema.update();
    }
    const decay = Math.min(1 - (1 + 20) ** (-2 / 3), 0.995);
    const want = 110 + (1 - decay) * (120 - 110);
    expect(ema.snapshot().get('w')!.data[0]).toBeCloseTo(want, 4);
    ema.step = 1_000_000;
    expect(ema.currentDecay()).toBe(0.995);
    ema.dispose();
    store.dispose();
  });
});
