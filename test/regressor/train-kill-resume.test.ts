/**
 * Regressor training killed for real (issue 19): `diffiqa train-regressor` runs as its own process and is SIGKILLed
 * in the middle of an epoch, past its last checkpoint, so it leaves metric lines beyond the checkpoint and a stale
 * lock. Resuming must end bit for bit where a straight run ends: weights, BatchNorm statistics, Adam moments and
 * step, the trainer's RNG, the best-validation model, and the per-step losses (which also pin the data position:
 * every step must see the batch the straight run saw, not, say, the first batch of the epoch it resumed in).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { tf } from '../../src/backend/tf.js';
import { latestCheckpoint, loadCheckpoint } from '../../src/io/checkpoint.js';
import { loadRegressorConfig } from '../../src/regressor/config.js';
import { readRegressorFile } from '../../src/regressor/weights.js';
import { trainRegressor } from '../../src/train/train-regressor.js';
import { makeData } from './train-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');

// 24 labelled images, 3 for validation: 21 training images in batches of 4 make 5 steps per epoch (the last batch
// takes 5), so 20 steps in all; validation after steps 5, 10, 15, 20; checkpoints every 3 steps. The learning rates
// are high enough that the validation loss goes down and up again (0.76, 0.20, 0.63, 0.32 on the native backend),
// so a resumed run that forgot the best loss so far would keep the step-15 model as the best one.
const CONFIG = `model: { kind: diffiqa-r, backbone: iresnet, iresnet: { layers: [1, 1, 1, 1], width: 4, embeddingDim: 16, inputSize: 32 }, hidden: 32 }
train: { epochs: 4, batchSize: 4, headLr: 0.3, backboneLr: 3.0e-2, trainableTensors: 12, checkpointEvery: 3, seed: 7 }
`;
const STEPS = 20;
/** The child is killed once this many steps are logged: after the checkpoint of step 12, inside the third epoch. */
const KILL_AFTER = 13;

/** The backend of both processes: native where its addon is built, else cpu (bit-exact resume needs the same one). */
let backend = '';
let root = '';
let labels = '';
let data = '';
let configFile = '';
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  backend = await initBackend(tf.findBackendFactory('native') !== null ? 'native' : 'cpu');
  ({ root, labels } = await makeData());
  data = path.join(root, 'faces');
  configFile = path.join(root, 'tiny-r.yaml');
  fs.writeFileSync(configFile, CONFIG);
}, 60_000);

interface MetricLine {
  step: number;
  loss: number;
  grad_norm: number;
  val_loss?: number;
  best_val_loss?: number;
}

function metrics(runDir: string): MetricLine[] {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        const { step, loss, grad_norm, val_loss, best_val_loss } = JSON.parse(l) as MetricLine;
        return [{ step, loss, grad_norm, val_loss, best_val_loss }];
      } catch {
        return []; // a line half-written at the kill
      }
    });
}

/** Runs the real CLI on `runDir` and SIGKILLs it as soon as `KILL_AFTER` steps are in its metrics log. */
async function runAndKill(runDir: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', `file://${TSX}`, CLI, 'train-regressor', '--backend', backend, '--config', configFile, '--labels', labels, '--data', data, '--out', runDir],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ signal: NodeJS.Signals | null; code: number | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const poll = setInterval(() => {
    if (metrics(runDir).length >= KILL_AFTER) child.kill('SIGKILL');
  }, 2);
  try {
    return { ...(await exited), stderr };
  } finally {
    clearInterval(poll);
  }
}

describe('regressor training killed with SIGKILL', () => {
  it('resumes to the same weights, optimiser, RNG, best model and per-step losses as a straight run', async () => {
    const config = loadRegressorConfig(configFile);
    const straight = path.join(root, 'straight');
    const r = await trainRegressor({ config, configFile, labels, data, runDir: straight, quiet: true });
    expect(r.steps).toBe(STEPS);
    expect(r.stepsPerEpoch).toBe(5);
    const vals = r.validations.map((v) => v.valLoss);
    expect(vals[2]).toBeGreaterThan(vals[1]!); // the best model so far (step 10) must survive the resume

    const killed = path.join(root, 'killed');
    const k = await runAndKill(killed);
    expect(k.signal, k.stderr).toBe('SIGKILL');
    const ckpt = loadCheckpoint(latestCheckpoint(killed)!);
    // Killed mid-run: the checkpoint is behind the logged steps and not at an epoch boundary.
    expect(ckpt.step).toBeGreaterThanOrEqual(12);
    expect(ckpt.step).toBeLessThan(STEPS);
    expect(metrics(killed).length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(fs.existsSync(`${killed}.lock`)).toBe(true); // left behind by the killed process: taken over below

    const resumed = await trainRegressor({ config, configFile, labels, data, runDir: killed, resume: true, quiet: true });
    expect(resumed.steps).toBe(STEPS);

    const a = loadCheckpoint<{ rng: unknown; adamT: number }>(latestCheckpoint(killed)!);
    const b = loadCheckpoint<{ rng: unknown; adamT: number }>(latestCheckpoint(straight)!);
    expect(a.step).toBe(STEPS);
    expect(b.step).toBe(STEPS);
    for (const part of ['model', 'optim'] as const) {
      const ta = a.tensors[part]!;
      const tb = b.tensors[part]!;
      expect([...ta.keys()]).toEqual([...tb.keys()]);
      for (const [name, t] of tb) expect(Array.from(ta.get(name)!.data), `${part}: ${name}`).toEqual(Array.from(t.data));
    }
    expect(a.state.adamT).toBe(b.state.adamT);
    expect(a.state.rng).toEqual(b.state.rng);

    // Every step logged once, with the straight run's loss, gradient norm and validation losses.
    const ma = metrics(killed);
    expect(ma.map((m) => m.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(ma).toEqual(metrics(straight));

    // The best-validation model and its record.
    const best = (dir: string) => readRegressorFile(path.join(dir, 'best.safetensors'));
    const [ba, bb] = [best(killed), best(straight)];
    expect(ba.meta).toEqual(bb.meta);
    for (const [name, t] of bb.stateDict) expect(Array.from(ba.stateDict.get(name)!.data), `best: ${name}`).toEqual(Array.from(t.data));
    expect(JSON.parse(fs.readFileSync(path.join(killed, 'best.json'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(path.join(straight, 'best.json'), 'utf8')));
    expect(fs.existsSync(`${killed}.lock`)).toBe(false);
  }, 60_000);
});
