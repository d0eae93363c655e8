/**
 * Labeller throughput: labelBatch (t* 5, 10 repeats, so 20·B UNet rows per evaluation and 6 evaluations per batch)
 * with the mobileface FR model and a randomly initialised UNet, for the cpu-small config and the paper config
 * (143 M params: B=1, one rep unless told). Prints the median s/image and images/s over `--reps` timed batches
 * after one warm-up batch, and the median split between UNet and FR time (both backends run kernels eagerly and
 * synchronously, so wall time around a call is the kernels' time).
 *
 *   node --import tsx bench/label.ts [--only cpu-small|paper] [--batch 2] [--reps 3]
 *   node --import tsx bench/label.ts --profile [--rows 40] [--top 25]   # per-kernel profile of one cpu-small forward
 *   node --import tsx bench/label.ts --forward [--rows 20,40] [--reps 5]  # median cpu-small forward time per row count
 *
 * --profile runs two warm-up forwards and a timed one, then one forward under tf.profile, and prints the kernels grouped by name and
 * by (name, input shapes), by total time, with GFLOP/s for convolutions and matmuls.
 */
import * as path from 'node:path';
import { describeBackend, initBackend, tf } from '../src/backend/index.js';
import { loadDiffusionConfig, unetConfigOf } from '../src/diffusion/config.js';
import { createSchedule } from '../src/diffusion/schedule.js';
import { type UnetConfig, countUnetParams, createUnet } from '../src/diffusion/unet.js';
import { loadFrModel } from '../src/fr/registry.js';
import type { FrModel } from '../src/fr/types.js';
import { labelBatch } from '../src/pipelines/label.js';
import { Rng } from '../src/util/rng.js';
import { printKernelProfile } from './profile.js';
import { arg, median } from './args.js';

const ROOT = path.join(import.meta.dirname, '..');

function configOf(name: string): { unet: UnetConfig; schedule: string; timesteps: number } {
  const c = loadDiffusionConfig(path.join(ROOT, `configs/diffusion/${name}.yaml`));
  return { unet: unetConfigOf(c), schedule: c.diffusion.schedule, timesteps: c.diffusion.timesteps };
}

/** Times labelBatch on B random images: one warm-up (unless `warmup` is false) and `reps` timed batches. */
function benchLabel(name: string, fr: FrModel, batch: number, reps: number, warmup: boolean): void {
  const { unet: config, schedule, timesteps } = configOf(name);
  const unet = createUnet(config, new Rng(0));
  const s = config.imageSize;
  console.log(
    `${name}: ${(countUnetParams(config) / 1e6).toFixed(2)} M params, ${s} px, B=${batch} images -> ${20 * batch} UNet rows x 6 evaluations per batch, ${reps} rep(s)`,
  );
  let unetTime = 0;
  let frTime = 0;
  const timedUnet = (x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D => {
    const t0 = performance.now();
    const y = unet.apply(x, t);
    unetTime += performance.now() - t0;
    return y;
  };
  const timedFr: FrModel = {
    ...fr,
    embed: (b) => {
      const t0 = performance.now();
      const e = fr.embed(b);
      frTime += performance.now() - t0;
      return e;
    },
  };
  const images = tf.randomUniform([batch, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const keys = Array.from({ length: batch }, (_, i) => `bench/${i}.png`);
  const opts = { tStar: 5, repeats: 10, seed: 0, schedule: createSchedule(schedule, timesteps) };
  const totals: number[] = [];
  const unets: number[] = [];
  const frs: number[] = [];
  for (let r = warmup ? -1 : 0; r < reps; r++) {
    unetTime = 0;
    frTime = 0;
    const t0 = performance.now();
    labelBatch(timedUnet, timedFr, images, keys, opts);
    const total = (performance.now() - t0) / 1000;
    if (r < 0) continue;
    totals.push(total);
    unets.push(unetTime / 1000);
    frs.push(frTime / 1000);
    console.log(`  rep ${r + 1}: ${total.toFixed(2)} s (UNet ${(unetTime / 1000).toFixed(2)} s, FR ${(frTime / 1000).toFixed(2)} s)`);
  }
  const tot = median(totals);
  const u = median(unets);
  const f = median(frs);
  console.log(
    `  median: ${(tot / batch).toFixed(3)} s/image, ${(batch / tot).toFixed(3)} images/s; per batch ${tot.toFixed(2)} s = UNet ${u.toFixed(2)} s (${((100 * u) / tot).toFixed(0)}%, ${(u / 6).toFixed(2)} s/forward of ${20 * batch} rows) + FR ${f.toFixed(2)} s (${((100 * f) / tot).toFixed(0)}%) + other ${(tot - u - f).toFixed(2)} s`,
  );
  images.dispose();
  unet.dispose();
}

/**
 * One forward whose output is summed on the backend and only the sum read back: reading the output itself
 * (dataSync) hands its array to JS, which takes it out of the native backend's recycling pool, so every forward's last
 * convolution allocated a fresh array (13-24 ms in place of 2 ms; the labeller never reads the UNet output back).
 */
function forwardOnce(unet: ReturnType<typeof createUnet>, x: tf.Tensor4D, t: tf.Tensor1D): void {
  tf.tidy(() => void tf.sum(unet.apply(x, t)).dataSync());
}

async function profileForward(rows: number, top: number): Promise<void> {
  const { unet: config } = configOf('cpu-small');
  const unet = createUnet(config, new Rng(0));
  const s = config.imageSize;
  const x = tf.randomUniform([rows, s, s, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
  const t = tf.tensor1d(new Array<number>(rows).fill(4), 'int32');
  const forward = (): void => forwardOnce(unet, x, t);
  // Two warm-ups: the first forwards of a process are slower (first touch of the allocator's memory).
  forward();
  forward();
  const t0 = performance.now();
  forward();
  const plain = (performance.now() - t0) / 1000;
  await printKernelProfile(`cpu-small forward, ${rows} rows of ${s}x${s}: ${plain.toFixed(2)} s unprofiled`, forward, top);
  tf.dispose([x, t]);
  unet.dispose();
}

/** Median wall time of cpu-small forwards (x in [-1,1], t = 4, the output's sum read back) after two warm-ups. */
function benchForward(rowCounts: readonly number[], reps: number): void {
  const { unet: config } = configOf('cpu-small');
  const unet = createUnet(config, new Rng(0));
  const s = config.imageSize;
  for (const rows of rowCounts) {
    const x = tf.randomUniform([rows, s, s, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const t = tf.tensor1d(new Array<number>(rows).fill(4), 'int32');
    const forward = (): void => forwardOnce(unet, x, t);
    forward();
    forward();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      forward();
      ts.push((performance.now() - t0) / 1000);
    }
    const m = median(ts);
    console.log(`cpu-small forward, ${rows} rows: median ${m.toFixed(3)} s (${((1000 * m) / rows).toFixed(1)} ms/row) over ${reps} reps [${ts.map((v) => v.toFixed(2)).join(' ')}]`);
    tf.dispose([x, t]);
  }
  unet.dispose();
}

async function main(): Promise<void> {
  await initBackend();
  console.log(describeBackend());
  if (process.argv.includes('--forward')) {
    benchForward(arg('rows', '20,40').split(',').map(Number), Number(arg('reps', '5')));
    return;
  }
  if (process.argv.includes('--profile')) {
    await profileForward(Number(arg('rows', '40')), Number(arg('top', '25')));
    return;
  }
  const only = arg('only', '');
  const fr = await loadFrModel('mobileface');
  for (const name of ['cpu-small', 'paper']) {
    if (only && only !== name) continue;
    const paper = name === 'paper';
    const batch = Number(arg('batch', paper ? '1' : '2'));
    const reps = Number(arg('reps', paper ? '1' : '3'));
    // The paper net takes minutes per batch: no warm-up there (its first-call overheads are negligible).
    benchLabel(name, fr, batch, reps, !paper);
  }
  fr.dispose();
}

await main();
