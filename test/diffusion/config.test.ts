import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDiffusionConfig, unetConfigOf } from '../../src/diffusion/config.js';
import { PAPER_UNET, countUnetParams } from '../../src/diffusion/unet-spec.js';
import { ConfigError } from '../../src/util/errors.js';

const CONFIGS = path.join(__dirname, '../../configs/diffusion');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-cfg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `extends: ${path.join(CONFIGS, 'paper.yaml')}\n${text}`);
  return file;
}

describe('diffusion configs', () => {
  it('paper.yaml is the reference configuration', () => {
    const c = loadDiffusionConfig(path.join(CONFIGS, 'paper.yaml'));
    expect(unetConfigOf(c)).toEqual(PAPER_UNET);
    expect(c.train).toMatchObject({ batchSize: 16, gradAccumulate: 4, steps: 100000, lr: 8e-5, beta1: 0.9, beta2: 0.99 });
    expect(c.train).toMatchObject({ emaDecay: 0.995, emaEvery: 10, checkpointEvery: 500 });
    expect(c.diffusion).toEqual({ timesteps: 1000, schedule: 'cosine', timeBound: [0, 100], T: 100, ddimEta: 1 });
  });

  it('cpu-small.yaml extends it with a small 112 px UNet', () => {
    const c = loadDiffusionConfig(path.join(CONFIGS, 'cpu-small.yaml'));
    expect(c.unet.imageSize).toBe(112);
    expect(c.train.emaDecay).toBe(0.995); // inherited
    expect(countUnetParams(unetConfigOf(c))).toBeLessThan(2e6);
  });

  it('names the file and dotted path of an unknown field', () => {
    const file = writeConfig('unknown.yaml', 'unet:\n  dims: 64\n');
    expect(() => loadDiffusionConfig(file)).toThrow(ConfigError);
    expect(() => loadDiffusionConfig(file)).toThrow(`${file}: unet.dims: unknown field`);
  });

  it('names the file and dotted path of an ill-typed field', () => {
    const file = writeConfig('typed.yaml', 'unet:\n  dimMults: [1, 2, "4x"]\n');
    expect(() => loadDiffusionConfig(file)).toThrow(`${file}: unet.dimMults[2]: expected a positive integer, got "4x"`);
    const lr = writeConfig('lr.yaml', 'train:\n  lr: -1\n');
    expect(() => loadDiffusionConfig(lr)).toThrow(`${lr}: train.lr: expected a positive number`);
  });

  it('checks cross-field rules', () => {
    const size = writeConfig('size.yaml', 'unet:\n  imageSize: 100\ndata:\n  imageSize: 100\n');
    expect(() => loadDiffusionConfig(size)).toThrow(`${size}: unet.imageSize: expected a multiple of 8`);
    const groups = writeConfig('groups.yaml', 'unet:\n  dim: 12\n');
    expect(() => loadDiffusionConfig(groups)).toThrow(`${groups}: unet.dim: width 12 is not divisible by resnetBlockGroups 8`);
    const bound = writeConfig('bound.yaml', 'diffusion:\n  timeBound: [50, 20]\n');
    expect(() => loadDiffusionConfig(bound)).toThrow(`${bound}: diffusion.timeBound`);
    const data = writeConfig('data.yaml', 'data:\n  imageSize: 64\n');
    expect(() => loadDiffusionConfig(data)).toThrow(`${data}: data.imageSize: expected 112`);
  });
});
