/**
 * `diffiqa label` and `diffiqa merge` as a user runs them: separate processes of the real CLI. Three shard
 * processes merged must equal one unsharded run (byte for byte; a shard that
 * seeded by shard instead of by image, or dropped a file, would differ), and `--fr-weights` must reach the FR loader.
 * Four `--shard auto/4` processes, each with its own JOB_COMPLETION_INDEX as the pods of a Kubernetes Indexed Job
 * have (deploy/), must do the same; without an index variable, or with one out of range, label stops at once.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeUnetSafetensors, loadDiffusion } from '../../src/diffusion/load.js';
import { SHARD_INDEX_VARIABLES } from '../../src/pipelines/records.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');
const fixture = (p: string): string => path.join(ROOT, 'test', 'fixtures', p);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-label-cli-'));
const data = path.join(tmp, 'faces');
const unet = path.join(tmp, 'tiny-unet.safetensors');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI (in `env`, default this process's); resolves with stdout/stderr and the exit code (never rejects). */
async function diffiqa(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', `file://${TSX}`, CLI, ...args], { cwd: tmp, env });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

/** This process's environment with the shard index variables replaced by `vars` (the test may run in a job). */
function indexEnv(vars: Partial<Record<(typeof SHARD_INDEX_VARIABLES)[number], string>>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const v of SHARD_INDEX_VARIABLES) delete env[v];
  return { ...env, ...vars };
}

const labelArgs = (out: string, extra: string[] = [], batch = 2): string[] => ['label', '--data', data, '--diffusion', unet, '--repeats', '2', '--batch', String(batch), '--out', out, ...extra];

beforeAll(async () => {
  // Seven smooth random images in two folders: an odd count so that the shards differ in size.
  for (let i = 0; i < 7; i++) {
    const px = Buffer.alloc(32 * 32 * 3);
    let s = i * 7919 + 1;
    for (let j = 0; j < px.length; j++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      px[j] = (s >> 16) & 255;
    }
    const dir = path.join(data, i < 4 ? 'a' : 'b');
    fs.mkdirSync(dir, { recursive: true });
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).blur(1.5).png().toFile(path.join(dir, `img${i}.png`));
  }
  // The reference-format tiny UNet fixture, exported with its config (groups cannot be inferred). It runs at
  // 112 px, the input size of the default FR model.
  const model = loadDiffusion(fixture('diffusion/tiny_unet.pt'), { config: { resnetBlockGroups: 2, imageSize: 112 } });
  fs.writeFileSync(unet, encodeUnetSafetensors(model.unet));
  model.dispose();
}, 60_000);

/**
 * The merged file equals the unsharded one byte for byte: same header, same paths in the same order, the same
 * digits. Labels are a pure function of (seed, image path): each image has its own random streams, and the native
 * LinearAttention sums fixed-size chunks, so an image's arithmetic does not depend on its batch or the thread count
 * (test/backend/unet-ops.test.ts; before, the batch moved a label by up to 2e-6). Until session 10 this compared
 * values to 1e-7, leaving room for a one-ulp LinearAttention difference between identical calls once measured on an
 * Intel VM (README, "Known nondeterminism"); the code it was traced to has since been rewritten, and no difference
 * has been seen in 150,000 calls since. A shard seeded by shard instead of by image moves a label by 1e-3 to 1e-2 at
 * these settings; a dropped or duplicated file changes the paths. On a mismatch the first differing row is named.
 */
function expectSameLabels(got: string, want: string): void {
  const [g, w] = [got.split('\n'), want.split('\n')];
  const first = w.findIndex((line, i) => g[i] !== line);
  expect(first === -1 && g.length === w.length, `first differing line ${first + 1}: got ${g[first]}, want ${w[first]}`).toBe(true);
  expect(got).toBe(want);
}

describe('diffiqa label / merge (processes)', () => {
  it('three shards merged equal one unsharded run byte for byte', async () => {
    const full = await diffiqa(labelArgs('full.csv'));
    expect(full.stderr).toContain('labelled 7 images');
    const shards = await Promise.all([1, 2, 3].map((k) => diffiqa(labelArgs(`part${k}.csv`, ['--shard', `${k}/3`]))));
    for (const s of shards) expect(s.code, s.stderr).toBe(0);
    const partRows = [1, 2, 3].map((k) => fs.readFileSync(path.join(tmp, `part${k}.csv`), 'utf8').trim().split('\n').length - 1);
    expect(partRows.reduce((a, b) => a + b, 0)).toBe(7);
    expect(Math.min(...partRows)).toBeGreaterThan(0);
    const merged = await diffiqa(['merge', 'part1.csv', 'part2.csv', 'part3.csv', '--out', 'merged.csv']);
    expect(merged.stderr).toContain('7 rows, 0 errors');
    const unsharded = fs.readFileSync(path.join(tmp, 'full.csv'), 'utf8');
    expect(unsharded.split('\n')[0]).toBe('path,score,noised,restored,noised_flip,restored_flip,flip');
    expectSameLabels(fs.readFileSync(path.join(tmp, 'merged.csv'), 'utf8'), unsharded);
  }, 240_000);

  it('four --shard auto/4 processes with JOB_COMPLETION_INDEX 0..3, run concurrently and merged, equal one unsharded run', async () => {
    // The shards batch their images differently from the unsharded run of the first test (--batch 2: 2+2+2+1 rows
    // against 4 batches of 2 and 1); the labels must not notice.
    const shards = await Promise.all(
      [0, 1, 2, 3].map((i) => diffiqa(labelArgs(`auto-part-${i}.csv`, ['--shard', 'auto/4']), indexEnv({ JOB_COMPLETION_INDEX: String(i) }))),
    );
    shards.forEach((s, i) => {
      expect(s.code, s.stderr).toBe(0);
      expect(s.stderr).toContain(`--shard auto/4 is shard ${i + 1}/4`);
    });
    // Seven images over four shards: every 4th sorted path from the shard's own offset gives 2, 2, 2 and 1 rows.
    const parts = [0, 1, 2, 3].map((i) => `auto-part-${i}.csv`);
    expect(parts.map((p) => fs.readFileSync(path.join(tmp, p), 'utf8').trim().split('\n').length - 1)).toEqual([2, 2, 2, 1]);
    const merged = await diffiqa(['merge', ...parts, '--out', 'auto-merged.csv']);
    expect(merged.stderr).toContain('merged 4 parts: 7 rows, 0 errors');
    expectSameLabels(fs.readFileSync(path.join(tmp, 'auto-merged.csv'), 'utf8'), fs.readFileSync(path.join(tmp, 'full.csv'), 'utf8'));
  }, 240_000);

  it('--shard auto/N without an index variable, or with one out of range, stops before labelling, naming the variables', async () => {
    const none = await diffiqa(labelArgs('auto-none.csv', ['--shard', 'auto/4']), indexEnv({}));
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--shard: auto/4 takes the 0-based shard index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set');
    // What the last task of a 1-based Slurm array (--array=1-4) would see.
    const slurm = await diffiqa(labelArgs('auto-none.csv', ['--shard', 'auto/4']), indexEnv({ SLURM_ARRAY_TASK_ID: '4' }));
    expect(slurm.code).not.toBe(0);
    expect(slurm.stderr).toContain('SLURM_ARRAY_TASK_ID=4 is not a 0-based index in 0..3');
    expect(fs.existsSync(path.join(tmp, 'auto-none.csv'))).toBe(false);
  }, 120_000);

  it('a rerun resumes: nothing is relabelled and the file is unchanged', async () => {
    const before = fs.readFileSync(path.join(tmp, 'full.csv'));
    const again = await diffiqa(labelArgs('full.csv'));
    expect(again.stderr).toContain('labelled 0 images (7 already done');
    expect(fs.readFileSync(path.join(tmp, 'full.csv')).equals(before)).toBe(true);
  }, 120_000);

  it('without --diffusion labels with the shipped diffusion model (verified by checksum)', async () => {
    const r = await diffiqa(['label', '--data', data, '--repeats', '1', '--batch', '4', '--out', 'shipped.csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('labelled 7 images');
    const rows = fs.readFileSync(path.join(tmp, 'shipped.csv'), 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(7);
    for (const row of rows) {
      const score = Number(row.split(',')[1]);
      expect(score).toBeGreaterThan(-1);
      expect(score).toBeLessThanOrEqual(1);
    }
  }, 120_000);

  it('--fr-weights reaches the FR loader: a PyTorch FR model without it is refused, with it the file is read', async () => {
    const without = await diffiqa(labelArgs('mfn.csv', ['--fr', 'mfn']));
    expect(without.code).not.toBe(0);
    expect(without.stderr).toMatch(/FR model 'mfn' needs PyTorch weights/);
    // The tiny fixture has eDifFIQA's MobileFaceNet names (prefix base_model.) at smaller widths than 'mfn'
    // builds: the loader reads it, strips the prefix and rejects the first tensor 'mfn' cannot take, naming the
    // file and the tensor.
    const pth = fixture('fr/ediffiqa_tiny.pth');
    const withWeights = await diffiqa(labelArgs('mfn.csv', ['--fr', 'mfn', '--fr-weights', pth, '--fr-weights-prefix', 'base_model.']));
    expect(withWeights.code).not.toBe(0);
    expect(withWeights.stderr).toMatch(/ediffiqa_tiny\.pth \[[a-z0-9_.]+\]: (missing from state dict|.*shape)/);
    expect(withWeights.stderr).not.toMatch(/base_model\./);
  }, 120_000);
});
