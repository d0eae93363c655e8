/**
 * Fault injection on the real library code: kill -9 (and Ctrl-C) of the trainer, the labeller runner and the scorer in child
 * processes (`node --import tsx test/robustness/fixtures/*-child.ts`), then a rerun that must end exactly where
 * an uninterrupted run ends; corrupted checkpoints; outputs that cannot be written (also as root); a full disk
 * (a 256 KiB tmpfs, when this process may mount one).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '../../src/nn/params.js';
import { runLabeller } from '../../src/pipelines/label-run.js';
import { errorFileFor, readResults } from '../../src/pipelines/records.js';
import { scoreFiles } from '../../src/pipelines/score.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint } from '../../src/io/checkpoint.js';
import { train } from '../../src/train/trainer.js';
import { CheckpointError, DiffiqaError } from '../../src/util/errors.js';
import { createTinyLabeller, tinyLabelOptions, writeGoodImages, type TinyLabeller } from './fixtures/tiny-models.js';
import { createTinyTask, tinyTrainOptions } from './fixtures/tiny-task.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const REGRESSOR = fileURLToPath(new URL('../fixtures/regressor/diffiqa_r_tiny.pth', import.meta.url));
const IMAGES = 12;

let root: string;
let data: string;

/** A running fixture script with its collected output. */
interface Child {
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
  kill(): void;
  pid: number | undefined;
}

function startChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, script), ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { exit, stdout: () => out, stderr: () => err, kill: () => child.kill('SIGKILL'), pid: child.pid };
}

/** Runs a fixture to completion; throws with its stderr if it fails. */
async function runChild(script: string, args: readonly string[]): Promise<string> {
  const c = startChild(script, args);
  const r = await c.exit;
  if (r.code !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${r.code ?? r.signal}:\n${c.stderr()}`);
  return c.stdout();
}

/** Polls `cond` every 10 ms; fails after `ms` or when the child exits first (the kill would come too late). */
async function waitFor(c: Child, cond: () => boolean, ms: number, what: string): Promise<void> {
  let exited = false;
  void c.exit.then(() => (exited = true));
  const t0 = Date.now();
  while (!cond()) {
    if (exited) throw new Error(`the child ended before ${what}:\n${c.stdout()}\n${c.stderr()}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}:\n${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Kills the child with SIGKILL and checks that it died of it (it had not finished on its own). */
async function killNow(c: Child): Promise<void> {
  c.kill();
  expect((await c.exit).signal).toBe('SIGKILL');
  expect(c.stdout()).not.toContain('done');
}

function lineCount(file: string): number {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

/** Bitwise equality of two named tensor sets (Float32 bit patterns, so -0/NaN payloads count too). */
function expectBitEqual(a: Map<string, HostTensor>, b: Map<string, HostTensor>, what: string): void {
  expect([...a.keys()].sort(), what).toEqual([...b.keys()].sort());
  for (const [name, t] of a) {
    const u = b.get(name) as HostTensor;
    expect(u.shape, `${what} ${name}`).toEqual(t.shape);
    expect(Buffer.from(new Uint8Array(u.data.buffer, u.data.byteOffset, u.data.byteLength)).equals(Buffer.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))), `${what} ${name}`).toBe(true);
  }
}

/** Model, optimiser and EMA tensors of a run's latest checkpoint. */
function finalTensors(runDir: string): Record<string, Map<string, HostTensor>> {
  return loadCheckpoint(latestCheckpoint(runDir) as string).tensors;
}

function expectSameRun(dirA: string, dirB: string): void {
  const a = finalTensors(dirA);
  const b = finalTensors(dirB);
  for (const stem of ['model', 'optim', 'ema']) expectBitEqual(a[stem] as Map<string, HostTensor>, b[stem] as Map<string, HostTensor>, stem);
}

function metricSteps(runDir: string): number[] {
  return fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  data = path.join(root, 'data');
  await writeGoodImages(path.join(data, 'a'), IMAGES / 2);
  await writeGoodImages(path.join(data, 'b'), IMAGES / 2);
}, 60_000);

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('kill -9 and rerun', () => {
  it('trainer: killed after step 3, resumed to the end, equals an uninterrupted run bit for bit', async () => {
    const straight = path.join(root, 'train-straight');
    const killed = path.join(root, 'train-killed');
    const reference = runChild('train-child.ts', [straight, '10', '0', '0']);
    const c = startChild('train-child.ts', [killed, '10', '0', '60']);
    await waitFor(c, () => /step ([3-9]|10)\b/.test(c.stdout()), 60_000, 'step 3');
    await killNow(c);
    const at = loadCheckpoint(latestCheckpoint(killed) as string).step;
    expect(at).toBeGreaterThanOrEqual(2);
    expect(at).toBeLessThan(10);
    await runChild('train-child.ts', [killed, '10', '1', '0']);
    await reference;
    expectSameRun(straight, killed);
    expect(metricSteps(killed)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(fs.readdirSync(killed).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 90_000);

  it('trainer: Ctrl-C saves the step in progress and exits 130; the resumed run equals an uninterrupted one', async () => {
    const straight = path.join(root, 'train-straight-int');
    const stopped = path.join(root, 'train-interrupted');
    const reference = runChild('train-child.ts', [straight, '9', '0', '0']);
    const c = startChild('train-child.ts', [stopped, '9', '0', '60']);
    // Checkpoints come every 2 steps: an interrupt after step 3 must still save step 3 or later, never lose it.
    await waitFor(c, () => /step [3-8]\b/.test(c.stdout()), 60_000, 'step 3');
    process.kill(c.pid as number, 'SIGINT');
    const r = await c.exit;
    expect(r.code).toBe(130);
    expect(c.stdout()).not.toContain('done');
    const last = Math.max(...[...c.stdout().matchAll(/step (\d+)/g)].map((m) => Number(m[1])));
    expect(c.stderr()).toMatch(new RegExp(`interrupted at step ${last}; checkpoint .*ckpt-0*${last} holds it`));
    expect(loadCheckpoint(latestCheckpoint(stopped) as string).step).toBe(last);
    await runChild('train-child.ts', [stopped, '9', '1', '0']);
    await reference;
    expectSameRun(straight, stopped);
    expect(metricSteps(stopped)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 90_000);

  it('labeller: killed mid-run, rerun, equals an uninterrupted run', async () => {
    const ref = path.join(root, 'labels-ref.csv');
    const out = path.join(root, 'labels-killed.csv');
    const reference = runChild('label-child.ts', [data, ref, '2', '0']);
    const c = startChild('label-child.ts', [data, out, '2', '150']);
    await waitFor(c, () => lineCount(out) >= 3, 60_000, 'the first batch');
    await killNow(c);
    const rowsAtKill = lineCount(out) - 1;
    expect(rowsAtKill).toBeGreaterThanOrEqual(2);
    expect(rowsAtKill).toBeLessThan(IMAGES);
    await runChild('label-child.ts', [data, out, '2', '0']);
    await reference;
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(ref, 'utf8'));
    const rows = readResults(out);
    expect(new Set(rows.map((r) => r.path)).size).toBe(IMAGES);
    expect(rows).toHaveLength(IMAGES);
    expect(lineCount(errorFileFor(out))).toBe(0);
  }, 90_000);

  it('scorer: killed mid-run, rerun, equals an uninterrupted run', async () => {
    const ref = path.join(root, 'scores-ref.jsonl');
    const out = path.join(root, 'scores-killed.jsonl');
    const reference = runChild('score-child.ts', [REGRESSOR, data, ref, '2', '0']);
    const c = startChild('score-child.ts', [REGRESSOR, data, out, '2', '300']);
    await waitFor(c, () => lineCount(out) >= 2, 60_000, 'the first batch');
    await killNow(c);
    expect(lineCount(out)).toBeLessThan(IMAGES);
    await runChild('score-child.ts', [REGRESSOR, data, out, '2', '0']);
    await reference;
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(ref, 'utf8'));
    expect(new Set(readResults(out).map((r) => r.path)).size).toBe(IMAGES);
  }, 90_000);
});

// A kill in the middle of a write can leave half a row; the rerun must drop it (ResultWriter.repairTail, which the
// runners call before reading what is done) and complete the output.
describe('a half-written last row (a kill in the middle of a write)', () => {
  it('labeller: the rerun drops it and completes the output', async () => {
    const models = createTinyLabeller();
    try {
      const ref = path.join(root, 'half-labels-ref.csv');
      await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, ref));
      const out = path.join(root, 'half-labels.csv');
      const lines = fs.readFileSync(ref, 'utf8').split('\n');
      fs.writeFileSync(out, `${lines.slice(0, 4).join('\n')}\n${(lines[4] as string).slice(0, 20)}`);
      await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out));
      expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(ref, 'utf8'));
    } finally {
      models.dispose();
    }
  }, 60_000);

  it('scorer: the rerun drops it and completes the output', async () => {
    const ref = path.join(root, 'half-scores-ref.jsonl');
    await scoreFiles(data, { model: REGRESSOR, out: ref, batchSize: 4, quiet: true });
    const out = path.join(root, 'half-scores.jsonl');
    const lines = fs.readFileSync(ref, 'utf8').split('\n');
    fs.writeFileSync(out, `${lines.slice(0, 3).join('\n')}\n${(lines[3] as string).slice(0, 15)}`);
    await scoreFiles(data, { model: REGRESSOR, out, batchSize: 4, quiet: true });
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(ref, 'utf8'));
  }, 60_000);
});

describe('corrupted checkpoints', () => {
  const STEPS = 6;
  let straight: string;
  let damaged: string;

  beforeAll(async () => {
    straight = path.join(root, 'ckpt-straight');
    damaged = path.join(root, 'ckpt-base');
    for (const dir of [straight, damaged]) {
      const task = createTinyTask();
      const r = await train(task, tinyTrainOptions(dir, STEPS));
      r.optimizer.dispose();
      r.ema?.dispose();
      task.dispose();
    }
  });

  const CASES: Array<{ name: string; damage: (ckpt: string) => void; message: RegExp }> = [
    { name: 'truncated model.safetensors', damage: (d) => fs.truncateSync(path.join(d, 'model.safetensors'), 40), message: /model\.safetensors: truncated or resized: 40 bytes/ },
    {
      name: 'a flipped byte in optim.safetensors',
      damage: (d) => {
        const f = path.join(d, 'optim.safetensors');
        const b = fs.readFileSync(f);
        b[b.length - 3] ^= 0x10;
        fs.writeFileSync(f, b);
      },
      message: /optim\.safetensors: checksum mismatch/,
    },
    { name: 'a missing ema.safetensors', damage: (d) => fs.rmSync(path.join(d, 'ema.safetensors')), message: /ema\.safetensors: cannot read: ENOENT/ },
    { name: 'a garbled state.json', damage: (d) => fs.writeFileSync(path.join(d, 'state.json'), '{"format": "diffiqa-chec'), message: /state\.json: cannot read state/ },
  ];

  it.each(CASES)('$name is refused with a clear error; the previous checkpoint resumes to the same weights', async ({ damage, message }) => {
    const dir = fs.mkdtempSync(path.join(root, 'ckpt-case-'));
    fs.cpSync(damaged, dir, { recursive: true });
    const [older, newest] = listCheckpoints(dir) as [string, string];
    damage(newest);
    const err = await train(createTinyTask(), tinyTrainOptions(dir, STEPS + 2, { resume: true })).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`resume from it with --resume-from ${older}`);
    const task = createTinyTask();
    const r = await train(task, tinyTrainOptions(dir, STEPS, { resumeFrom: older }));
    r.optimizer.dispose();
    r.ema?.dispose();
    task.dispose();
    expectSameRun(straight, dir);
  });

  it('a garbled latest.json is refused naming it; the checkpoint folders stay usable', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'ckpt-latest-'));
    fs.cpSync(damaged, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'latest.json'), '{"step": 6, "di');
    await expect(train(createTinyTask(), tinyTrainOptions(dir, STEPS, { resume: true }))).rejects.toThrow(/latest\.json: unreadable pointer file/);
    expect(loadCheckpoint(listCheckpoints(dir)[1] as string).step).toBe(STEPS);
  });
});

describe('unwritable outputs (also for root)', () => {
  let models: TinyLabeller;
  beforeAll(() => {
    models = createTinyLabeller();
  });
  afterAll(() => models.dispose());

  it('the labeller stops with an error naming the path when the output folder is a regular file', async () => {
    const blocker = path.join(root, 'not-a-folder');
    fs.writeFileSync(blocker, 'x');
    const out = path.join(blocker, 'labels.csv');
    const err = await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/ENOTDIR|EEXIST/);
    expect((err as Error).message).toContain(blocker);
    expect(fs.readFileSync(blocker, 'utf8')).toBe('x');
  });

  // Under /proc, Node 20's fs.mkdirSync(dir, { recursive: true }) never returns, so src/util/atomic.ts creates
  // folders one level at a time. This runs in a child with a time limit, in case a write ever hangs again.
  it('an output under /proc (not writable even for root) stops the write with an error naming it', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', "import { appendLinesDurable } from './src/util/atomic.ts'; appendLinesDurable('/proc/diffiqa-robustness/labels.csv', ['a']);"],
      { cwd: REPO, encoding: 'utf8', timeout: 10_000 },
    );
    expect(r.signal, 'the write hung and was killed').toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('/proc/diffiqa-robustness');
  }, 20_000);

  it('the trainer stops with an error naming the run folder when its parent is a regular file', async () => {
    const blocker = path.join(root, 'not-a-run-parent');
    fs.writeFileSync(blocker, 'x');
    await expect(train(createTinyTask(), tinyTrainOptions(path.join(blocker, 'run'), 2))).rejects.toThrow(/not-a-run-parent/);
  });
});

describe('full disk (tmpfs)', () => {
  let mnt: string;
  let mounted = false;

  beforeAll(() => {
    mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-tmpfs-'));
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
    mounted = r.status === 0;
    if (!mounted) console.warn(`full-disk cases skipped: cannot mount a tmpfs (${(r.stderr || r.error?.message || '').trim()})`);
  });

  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });

  /** Writes a filler file until the disk is full. */
  function fillDisk(file: string): void {
    const fd = fs.openSync(file, 'w');
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
  }

  it('the trainer stops on ENOSPC with an error naming the file; the last checkpoint resumes to the same weights', async (ctx) => {
    if (!mounted) ctx.skip();
    const straight = path.join(root, 'disk-straight');
    const runDir = path.join(mnt, 'run');
    const filler = path.join(mnt, 'filler');
    const task = createTinyTask();
    const r0 = await train(task, tinyTrainOptions(straight, 8));
    r0.optimizer.dispose();
    r0.ema?.dispose();
    task.dispose();
    const err = await train(createTinyTask(), tinyTrainOptions(runDir, 8, { onStep: (s) => s === 2 && fillDisk(filler) })).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DiffiqaError);
    expect((err as Error).message).toMatch(new RegExp(`cannot write ${runDir}/.*ENOSPC`));
    expect(loadCheckpoint(latestCheckpoint(runDir) as string).step).toBe(2);
    const leftovers = fs.readdirSync(runDir, { recursive: true }).map(String).filter((f) => f.includes('.tmp-'));
    expect(leftovers).toEqual([]);
    fs.rmSync(filler);
    const t2 = createTinyTask();
    const r = await train(t2, tinyTrainOptions(runDir, 8, { resume: true }));
    r.optimizer.dispose();
    r.ema?.dispose();
    t2.dispose();
    expectSameRun(straight, runDir);
    expect(metricSteps(runDir)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 60_000);

  it('the labeller stops on ENOSPC with an error naming the output and writes no partial row', async (ctx) => {
    if (!mounted) ctx.skip();
    const models = createTinyLabeller();
    const out = path.join(mnt, 'labels.csv');
    const filler = path.join(mnt, 'filler-labels');
    try {
      fillDisk(filler);
      await expect(runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out))).rejects.toThrow(
        new RegExp(`cannot write ${out}.*ENOSPC`),
      );
      expect(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '').toBe('');
    } finally {
      models.dispose();
      fs.rmSync(filler, { force: true });
      fs.rmSync(out, { force: true });
    }
  }, 60_000);

  // A first write that failed (ENOSPC here; equally a kill mid-header) can leave an empty CSV: the rerun must
  // write the header and go on rather than refuse the empty file.
  it('after space is freed, a rerun of the labeller gives the full, valid output', async (ctx) => {
    if (!mounted) ctx.skip();
    const models = createTinyLabeller();
    const out = path.join(mnt, 'labels-rerun.csv');
    const filler = path.join(mnt, 'filler-rerun');
    try {
      const ref = path.join(root, 'disk-labels-ref.csv');
      await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, ref));
      fillDisk(filler);
      await expect(runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out))).rejects.toThrow(/ENOSPC/);
      fs.rmSync(filler);
      await runLabeller(models.unet, models.schedule, models.fr, tinyLabelOptions(data, out));
      expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(ref, 'utf8'));
    } finally {
      models.dispose();
      fs.rmSync(filler, { force: true });
    }
  }, 60_000);
});
