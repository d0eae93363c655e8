import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { ParamStore, fromTorchLayout, toTorchLayout } from '../../src/nn/params.js';
import { Adam } from '../../src/train/adam.js';
import { Ema } from '../../src/train/ema.js';
import { Rng } from '../../src/util/rng.js';

describe('ParamStore', () => {
  it('holds each parameter once and frees everything on dispose (with Adam and EMA slots)', () => {
    const base = tf.memory();
    const s = new ParamStore(new Rng(0));
    s.addConv('c', 3, 3, 4, 8, true);
    s.addBatchNorm('bn', 8);
    const floats = 3 * 3 * 4 * 8 + 8 + 4 * 8;
    expect(tf.memory().numBytes - base.numBytes).toBe(4 * floats);
    const adam = new Adam([{ lr: 1, params: s.trainableNamed() }], { beta1: 0.9, beta2: 0.99 });
    const ema = new Ema(s, { beta: 0.9, updateEvery: 1 });
    adam.dispose();
    ema.dispose();
    s.dispose();
    expect(tf.memory().numBytes).toBe(base.numBytes);
    expect(tf.memory().numTensors).toBe(base.numTensors);
  });

  it('converts conv, depthwise and linear weights to PyTorch layouts and back exactly', () => {
    const r = new Rng(3);
    const conv = { shape: [2, 3, 4, 5], data: r.normalArray(120) }; // HWIO
    const torch = toTorchLayout(conv, 'conv');
    expect(torch.shape).toEqual([5, 4, 2, 3]); // OIHW
    // Element (h=1, w=2, i=3, o=4) lands at (o, i, h, w).
    expect(torch.data[((4 * 4 + 3) * 2 + 1) * 3 + 2]).toBe(conv.data[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
    expect(Array.from(fromTorchLayout(torch, 'conv').data)).toEqual(Array.from(conv.data));
    const lin = { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(toTorchLayout(lin, 'linear').data)).toEqual([1, 3, 5, 2, 4, 6]);
    const dw = { shape: [3, 3, 4, 1], data: r.normalArray(36) };
    expect(toTorchLayout(dw, 'depthwise').shape).toEqual([4, 1, 3, 3]);
    expect(Array.from(fromTorchLayout(toTorchLayout(dw, 'depthwise'), 'depthwise').data)).toEqual(Array.from(dw.data));
  });
});
