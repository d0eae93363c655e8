import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { tf } from '../../src/backend/tf.js';
import { permuteHost } from '../../src/nn/params.js';
import { FR_MODEL_NAMES, loadFrModel } from '../../src/fr/registry.js';
import { RegistryError, ConfigError } from '../../src/util/errors.js';
import { maxRelError, readFxt } from './fixture.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/fr/${name}`, import.meta.url));

describe('FR registry', () => {
  it('a miss lists the valid keys', async () => {
    const err = await loadFrModel('arcface-9000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    for (const k of FR_MODEL_NAMES) expect((err as Error).message).toContain(k);
  });

  it('PyTorch backbones require weights', async () => {
    await expect(loadFrModel('r18')).rejects.toBeInstanceOf(ConfigError);
  });

  it('a .pth whose shapes do not match the model fails naming the file', async () => {
    // The tiny MobileFaceNet fixture has eDifFIQA's names but not the real widths that 'mfn' builds.
    await expect(loadFrModel('mfn', { weights: fixture('mobilefacenet_tiny.pth') })).rejects.toThrow(/mobilefacenet_tiny\.pth/);
  });

  it('dlib and mobileface embed [B,112,112,3] to [B,128] / [B,256]', async () => {
    for (const [name, dim] of [['dlib', 128], ['mobileface', 256]] as const) {
      const fr = await loadFrModel(name);
      try {
        const x = tf.randomUniform([2, 112, 112, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const e = fr.embed(x);
        expect(e.shape).toEqual([2, dim]);
        expect(fr.embeddingDim).toBe(dim);
        e.dispose();
        expect(tf.memory().numTensors).toBe(before);
        x.dispose();
      } finally {
        fr.dispose();
      }
    }
  });
});

describe('.pth loading (src/io)', () => {
  it('an eDifFIQA-style checkpoint (base_model.* + mlp.*) loads the backbone by prefix and matches PyTorch', async () => {
    const { loadTorchFile, stateDictFrom } = await import('../../src/io/torch-file.js');
    const { createMobileFaceNet } = await import('../../src/fr/mobilefacenet.js');
    const net = createMobileFaceNet({ c1: 8, c2: 16, g23: 16, g3: 16, g34: 24, g4: 24, g45: 32, g5: 24, n3: 2, n4: 1, n5: 1, sep: 32, emb: 16 });
    try {
      const file = fixture('ediffiqa_tiny.pth');
      net.params.loadTorchStateDict(stateDictFrom(loadTorchFile(file), 'base_model.'), file);
      const fx = readFxt(fixture('mobilefacenet_tiny.fxt'));
      const input = permuteHost(fx.get('input')!, [0, 2, 3, 1]);
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const y = net.forward(x, false);
      expect(maxRelError(y.dataSync(), fx.get('output')!.data)).toBeLessThan(1e-4);
      tf.dispose([x, y]);
    } finally {
      net.params.dispose();
    }
  });

  it('iresnet_tiny.pth loads into the backbone and matches the PyTorch output', async () => {
    const { loadTorchFile, stateDictFrom } = await import('../../src/io/torch-file.js');
    const { createIResNet } = await import('../../src/fr/iresnet.js');
    const net = createIResNet({ layers: [2, 1, 1, 1], width: 8, embeddingDim: 16, inputSize: 48 });
    try {
      net.params.loadTorchStateDict(stateDictFrom(loadTorchFile(fixture('iresnet_tiny.pth')), ''), 'iresnet_tiny.pth');
      const fx = readFxt(fixture('iresnet_tiny.fxt'));
      const input = permuteHost(fx.get('input')!, [0, 2, 3, 1]);
      const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
      const y = net.forward(x, false);
      expect(maxRelError(y.dataSync(), fx.get('output')!.data)).toBeLessThan(1e-4);
      tf.dispose([x, y]);
    } finally {
      net.params.dispose();
    }
  });
});
