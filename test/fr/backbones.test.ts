import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '../../src/backend/tf.js';
import { permuteHost } from '../../src/nn/params.js';
import { createIResNet, declareIResNet, IRESNET_CONFIGS } from '../../src/fr/iresnet.js';
import { createMobileFaceNet, declareMobileFaceNet, MFN_CONFIG, type MobileFaceNetConfig } from '../../src/fr/mobilefacenet.js';
import { shapeDeclarer } from '../../src/fr/declare.js';
import { createMbf, declareMbf, MBF_CONFIG } from '../../src/fr/mbf.js';
import type { Backbone } from '../../src/fr/types.js';
import { maxRelError, readFxt, stateDictOf } from './fixture.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/fr/${name}`, import.meta.url));

/** Runs `net` on the fixture input (NCHW -> NHWC) and returns the max relative error vs PyTorch. */
function compareWithTorch(net: Backbone, file: string): number {
  const fx = readFxt(fixture(file));
  net.params.loadTorchStateDict(stateDictOf(fx), file);
  const input = permuteHost(fx.get('input')!, [0, 2, 3, 1]);
  const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
  const y = net.forward(x, false);
  const want = fx.get('output')!;
  expect(y.shape).toEqual(want.shape);
  const err = maxRelError(y.dataSync(), want.data);
  tf.dispose([x, y]);
  return err;
}

const MFN_TINY: MobileFaceNetConfig = { c1: 8, c2: 16, g23: 16, g3: 16, g34: 24, g4: 24, g45: 32, g5: 24, n3: 2, n4: 1, n5: 1, sep: 32, emb: 16 };

describe('IResNet', () => {
  it('matches PyTorch (tiny: layers [2,1,1,1], width 8, 48 px, 3x3 final map) within 1e-4', () => {
    const net = createIResNet({ layers: [2, 1, 1, 1], width: 8, embeddingDim: 16, inputSize: 48 });
    try {
      expect(compareWithTorch(net, 'iresnet_tiny.fxt')).toBeLessThan(1e-4);
    } finally {
      net.params.dispose();
    }
  });

  it('the C-H-W flatten matters: fc columns in H-W-C order would not match', () => {
    // Guards the fixture itself: with a 3x3 final map the two orders give different outputs.
    const fx = readFxt(fixture('iresnet_tiny.fxt'));
    const w = fx.get('state.fc.weight')!;
    expect(w.shape).toEqual([16, 64 * 9]);
    const hwc = permuteHost({ shape: [16, 64, 3, 3], data: w.data }, [0, 2, 3, 1]);
    const sd = stateDictOf(fx);
    sd.set('fc.weight', { shape: [16, 64 * 9], data: hwc.data });
    const net = createIResNet({ layers: [2, 1, 1, 1], width: 8, embeddingDim: 16, inputSize: 48 });
    try {
      net.params.loadTorchStateDict(sd, 'permuted');
      const input = permuteHost(fx.get('input')!, [0, 2, 3, 1]);
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const y = net.forward(x, false);
      expect(maxRelError(y.dataSync(), fx.get('output')!.data)).toBeGreaterThan(1e-2);
      tf.dispose([x, y]);
    } finally {
      net.params.dispose();
    }
  });

  it('declares exactly the insightface state_dict names and shapes for r18/r50/r100', () => {
    const ref = JSON.parse(readFileSync(fixture('shapes.json'), 'utf8')) as Record<string, [string, number[]][]>;
    for (const key of ['r18', 'r50', 'r100'] as const) {
      const got: [string, number[]][] = [];
      declareIResNet(shapeDeclarer(got), IRESNET_CONFIGS[key]);
      expect(got).toEqual(ref[key]);
    }
  });

  it('training mode uses batch statistics and updates running stats', () => {
    const net = createIResNet({ layers: [1, 1, 1, 1], width: 4, embeddingDim: 8, inputSize: 32 }, 3);
    try {
      const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const before = net.params.get('bn1.running_mean').dataSync().slice();
      const y = net.forward(x, true);
      const after = net.params.get('bn1.running_mean').dataSync();
      expect(Array.from(after)).not.toEqual(Array.from(before));
      // features BN in train mode: per-feature batch mean ~ bias (0).
      const m = tf.mean(y, 0).dataSync();
      for (const v of m) expect(Math.abs(v)).toBeLessThan(1e-4);
      tf.dispose([x, y]);
    } finally {
      net.params.dispose();
    }
  });
});

describe('MobileFaceNet (eDifFIQA)', () => {
  it('matches PyTorch (tiny widths) within 1e-4 and is L2-normalised', () => {
    const net = createMobileFaceNet(MFN_TINY);
    try {
      expect(compareWithTorch(net, 'mobilefacenet_tiny.fxt')).toBeLessThan(1e-4);
      const x = tf.randomUniform([3, 112, 112, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const y = net.forward(x, false);
      const norms = tf.tidy(() => tf.norm(y, 2, 1).dataSync());
      for (const n of norms) expect(n).toBeCloseTo(1, 5);
      tf.dispose([x, y]);
    } finally {
      net.params.dispose();
    }
  });

  it('declares exactly eDifFIQA MobileFaceNet state_dict names and shapes', () => {
    const ref = JSON.parse(readFileSync(fixture('shapes.json'), 'utf8')) as Record<string, [string, number[]][]>;
    const got: [string, number[]][] = [];
    declareMobileFaceNet(shapeDeclarer(got), MFN_CONFIG);
    expect(got).toEqual(ref.mfn);
    const n = got.filter(([k]) => !k.includes('running')).reduce((a, [, s]) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(n).toBeGreaterThan(1.1e6);
  });
});

describe('insightface mbf', () => {
  const MBF_TINY = { c1: 8, c2: 16, gs: 4, g23: 16, g3: 16, g34: 24, g4: 24, g45: 32, g5: 24, n3: 1, n4: 1, n5: 1, sep: 32, emb: 16 };

  it('matches PyTorch (tiny widths, grouped stem conv with 2 channels per group) within 1e-4', () => {
    const net = createMbf(MBF_TINY);
    try {
      expect(compareWithTorch(net, 'mbf_tiny.fxt')).toBeLessThan(1e-4);
    } finally {
      net.params.dispose();
    }
  });

  it('declares exactly the get_mbf state_dict names and shapes', () => {
    const ref = JSON.parse(readFileSync(fixture('shapes.json'), 'utf8')) as Record<string, [string, number[]][]>;
    const got: [string, number[]][] = [];
    declareMbf(shapeDeclarer(got), MBF_CONFIG);
    expect(got).toEqual(ref.mbf);
  });
});
