import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { convNamed } from '../../src/nn/layers.js';
import { ParamStore } from '../../src/nn/params.js';
import { latestCheckpoint, listCheckpoints, loadCheckpoint } from '../../src/io/checkpoint.js';
import { DivergenceError, train, type TrainTask, type TrainerOptions } from '../../src/train/trainer.js';
import { CheckpointError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

type Batch = { x: tf.Tensor4D; y: tf.Tensor4D };

/** A tiny denoising conv net; batches are a pure function of the micro-step index, the loss draws noise from rng. */
function makeTask(lr = 1e-2, poisonFrom = Infinity): TrainTask<Batch> & { dispose(): void } {
  const params = new ParamStore(new Rng(11));
  params.addConv('c1', 3, 3, 2, 4, true);
  params.addConv('c2', 3, 3, 4, 2, true);
  return {
    params,
    paramGroups: () => [{ lr, params: params.trainableNamed() }],
    async batch(index) {
      const r = new Rng(`batch-${index}`);
      const y = tf.tensor4d(r.normalArray(2 * 6 * 6 * 2), [2, 6, 6, 2]);
      // From micro-step `poisonFrom` on, the input holds a NaN: the loss must stop the run.
      const x = index >= poisonFrom ? tf.mul(y, NaN) : tf.clone(y);
      return { x: x as tf.Tensor4D, y };
    },
    loss({ x, y }, rng) {
      const noise = tf.tensor4d(rng.normalArray(x.size), x.shape);
      const h = tf.relu(convNamed(params, 'c1', tf.add(x, tf.mul(noise, 0.3)) as tf.Tensor4D, { padding: 1 }));
      const out = convNamed(params, 'c2', h, { padding: 1 });
      return tf.losses.meanSquaredError(y, out) as tf.Scalar;
    },
    disposeBatch({ x, y }) {
      x.dispose();
      y.dispose();
    },
    dispose: () => params.dispose(),
  };
}

function options(runDir: string, steps: number, extra: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    runDir,
    steps,
    gradAccumulate: 2,
    beta1: 0.9,
    beta2: 0.99,
    ema: { beta: 0.9, updateEvery: 2, updateAfterStep: 2 },
    checkpointEvery: 3,
    evaluateEvery: 0,
    seed: 5,
    config: { test: true },
    quiet: true,
    ...extra,
  };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-'));
}

describe('train', () => {
  it('N steps + resume + N steps gives bit-identical weights, optimizer and EMA to a straight 2N run', async () => {
    const straight = makeTask();
    const dirA = tmp();
    const a = await train(straight, options(dirA, 6));
    const resumed = makeTask();
    const dirB = tmp();
    (await train(resumed, options(dirB, 3))).optimizer.dispose();
    resumed.dispose();
    const again = makeTask(); // fresh process state: everything must come from the checkpoint
    const b = await train(again, options(dirB, 6, { resume: true }));
    for (const [name, t] of straight.params.snapshot()) {
      expect(Array.from(again.params.snapshot().get(name)!.data), name).toEqual(Array.from(t.data));
    }
    expect(Array.from(b.ema!.snapshot().get('c1.weight')!.data)).toEqual(Array.from(a.ema!.snapshot().get('c1.weight')!.data));
    expect(Array.from(b.optimizer.snapshot().get('adam.v.c2.bias')!.data)).toEqual(
      Array.from(a.optimizer.snapshot().get('adam.v.c2.bias')!.data),
    );
    // One metrics line per step, none duplicated by the resume.
    const steps = fs
      .readFileSync(path.join(dirB, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    for (const x of [a, b]) {
      x.ema!.dispose();
      x.optimizer.dispose();
    }
    straight.dispose();
    again.dispose();
  });

  it('lowers the loss on a fixed task and keeps the tensor count flat', async () => {
    const task = makeTask(3e-2);
    const losses: number[] = [];
    let counts: number[] = [];
    const r = await train(task, options(tmp(), 40, { ema: undefined, checkpointEvery: 100, onStep: (s, l) => {
      losses.push(l);
      if (s >= 5) counts.push(tf.memory().numTensors);
    } }));
    const head = losses.slice(0, 5).reduce((p, c) => p + c) / 5;
    const tail = losses.slice(-5).reduce((p, c) => p + c) / 5;
    expect(tail).toBeLessThan(head * 0.7);
    counts = [...new Set(counts)];
    expect(counts).toHaveLength(1);
    r.optimizer.dispose();
    task.dispose();
  });

  it('stops on a non-finite loss naming the last good checkpoint, which stays loadable', async () => {
    const task = makeTask(1e-2, 2 * 4); // micro-steps 0..7 fine (4 steps), then NaN
    const dir = tmp();
    const run = train(task, options(dir, 10));
    await expect(run).rejects.toThrow(DivergenceError);
    await expect(train(makeTask(1e-2, 0), options(tmp(), 2))).rejects.toThrow(/No checkpoint was written yet/);
    const latest = latestCheckpoint(dir)!;
    expect(path.basename(latest)).toBe('ckpt-0000003');
    expect(loadCheckpoint(latest).step).toBe(3);
    task.dispose();
  });

  it('refuses a corrupted or truncated checkpoint with a clear error and keeps the previous one', async () => {
    const task = makeTask();
    const dir = tmp();
    const r = await train(task, options(dir, 6));
    r.optimizer.dispose();
    r.ema!.dispose();
    const [older, newest] = listCheckpoints(dir);
    const modelFile = path.join(newest!, 'model.safetensors');
    const bytes = fs.readFileSync(modelFile);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(modelFile, bytes);
    expect(() => loadCheckpoint(newest!)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(newest!)).toThrow(/checksum mismatch.*resume from it with --resume-from .*ckpt-0000003/);
    fs.writeFileSync(modelFile, bytes.subarray(0, 100));
    expect(() => loadCheckpoint(newest!)).toThrow(/truncated/);
    await expect(train(makeTask(), options(dir, 8, { resume: true }))).rejects.toThrow(CheckpointError);
    expect(loadCheckpoint(older!).step).toBe(3);
    const resumed = await train(makeTask(), options(dir, 8, { resumeFrom: older }));
    expect(resumed.step).toBe(8);
    task.dispose();
  });
});
