/**
 * `trainDiffusion` with `initFrom`: a new run starts from the given UNet weights (its first Adam step moves each
 * weight by about lr from them), a run without it starts from its own random initialisation, and resuming a run
 * continues from its own checkpoint rather than re-initialising.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { unetConfigOf, type DiffusionConfig } from '../../src/diffusion/config.js';
import { encodeUnetSafetensors, loadDiffusion } from '../../src/diffusion/load.js';
import { createUnet } from '../../src/diffusion/unet.js';
import type { HostTensor } from '../../src/nn/params.js';
import { trainDiffusion } from '../../src/train/train-diffusion.js';
import { Rng } from '../../src/util/rng.js';
import { tinyDiffusionConfig, writeTinyFaces } from './tiny-faces.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-init-from-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const LR = 1e-3;

let config: DiffusionConfig;
let source: Map<string, HostTensor>;
const sourceFile = path.join(tmp, 'source.safetensors');

function weights(dir: string): Map<string, HostTensor> {
  const m = loadDiffusion(dir);
  const state = m.unet.params.toTorchStateDict();
  m.dispose();
  return state;
}

/** Largest |a - b| over every tensor of two state dicts with the same names. */
function maxDiff(a: ReadonlyMap<string, HostTensor>, b: ReadonlyMap<string, HostTensor>): number {
  let d = 0;
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) d = Math.max(d, Math.abs((t.data[i] as number) - (u[i] as number)));
  }
  return d;
}

beforeAll(async () => {
  await initBackend();
  config = tinyDiffusionConfig(await writeTinyFaces(path.join(tmp, 'faces'), 6), { steps: 1, lr: LR, emaWarmup: 1000 });
  const unet = createUnet(unetConfigOf(config), new Rng('a different initialisation'));
  source = unet.params.toTorchStateDict();
  fs.writeFileSync(sourceFile, encodeUnetSafetensors(unet));
  unet.dispose();
}, 60_000);

describe('trainDiffusion initFrom', () => {
  it('starts a new run from the given weights; resuming continues from the run, not from them', async () => {
    const fromInit = path.join(tmp, 'init');
    await trainDiffusion(config, { runDir: fromInit, initFrom: sourceFile, resume: true, quiet: true, workers: 1 });
    const step1 = weights(fromInit);
    // One Adam step moves each weight by at most about lr from where it started.
    expect(maxDiff(step1, source)).toBeLessThan(1.5 * LR);

    const scratch = path.join(tmp, 'scratch');
    await trainDiffusion(config, { runDir: scratch, resume: true, quiet: true, workers: 1 });
    expect(maxDiff(weights(scratch), source)).toBeGreaterThan(0.05);

    // Resuming for a second step starts from the run's step-1 checkpoint, not from the source again.
    await trainDiffusion({ ...config, train: { ...config.train, steps: 2 } }, { runDir: fromInit, initFrom: scratch, resume: true, quiet: true, workers: 1 });
    const step2 = weights(fromInit);
    expect(maxDiff(step2, step1)).toBeLessThan(1.5 * LR);
    expect(maxDiff(step2, step1)).toBeGreaterThan(0);
  }, 120_000);
});
