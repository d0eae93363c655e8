/**
 * Memory over a long scoring run (issue 16, bounded resources): `scoreFiles` over 10,000 images must hold as
 * many tensors and about as much memory at the end as after the first thousand. Writes `--distinct` synthetic
 * 112x112 PNGs to a fresh folder in the temp folder and hard-links them into `--images` files, scores them with a
 * regressor through src/pipelines/score.ts `scoreFiles`, samples tf.memory() (tensors, bytes) and the process's
 * RSS, V8 heap and external memory (array buffers and other memory outside the heap that V8 knows of) after every
 * batch, and prints the curve every `--every` images and the growth from the end of the first thousand images to
 * the end of the run.
 *
 *   node --import tsx bench/score-memory.ts [--images 10000] [--distinct 100] [--batch 64] [--every 1000]
 *                                           [--model test/fixtures/regressor/diffiqa_r_tiny.pth] [--backend native|cpu]
 *
 * The default model is the tiny DifFIQA(R) test fixture (48 px input: decoding dominates, as for a small
 * regressor); `--model` takes any regressor file, e.g. a mobileface eDifFIQA run's best.safetensors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { tf } from '../src/backend/tf.js';
import { readResults } from '../src/pipelines/records.js';
import { loadRegressor, scoreFiles, type Scorer } from '../src/pipelines/score.js';
import { writeSyntheticFaces } from '../test/regressor/synthetic.js';
import { arg, median } from './args.js';

/** Memory after one batch, `images` images into the run (MiB except the tensor count). */
interface Sample {
  images: number;
  numTensors: number;
  tensorMiB: number;
  rssMiB: number;
  heapMiB: number;
  externalMiB: number;
}

const MiB = 1024 * 1024;

function sample(images: number): Sample {
  const m = tf.memory();
  const p = process.memoryUsage();
  return { images, numTensors: m.numTensors, tensorMiB: m.numBytes / MiB, rssMiB: p.rss / MiB, heapMiB: p.heapUsed / MiB, externalMiB: p.external / MiB };
}

/** The scorer, sampling memory after every batch it scores (scoreFiles calls score once per batch). */
function sampling(scorer: Scorer, samples: Sample[]): Scorer {
  let images = 0;
  return {
    name: scorer.name,
    inputSize: scorer.inputSize,
    meta: scorer.meta,
    model: scorer.model,
    score(batch) {
      const out = scorer.score(batch);
      images += out.length;
      samples.push(sample(images));
      return out;
    },
    dispose: () => scorer.dispose(),
  };
}

/** `n` image files in `dir`/all: hard links cycling over `distinct` synthetic PNGs (or copies where links fail). */
async function writeImages(dir: string, n: number, distinct: number): Promise<void> {
  const items = await writeSyntheticFaces(path.join(dir, 'distinct'), 1, distinct, 112);
  const all = path.join(dir, 'all');
  fs.mkdirSync(all);
  for (let i = 0; i < n; i++) {
    const src = path.join(dir, 'distinct', (items[i % items.length] as { rel: string }).rel);
    const dst = path.join(all, `img${String(i).padStart(6, '0')}.png`);
    try {
      fs.linkSync(src, dst);
    } catch {
      fs.copyFileSync(src, dst);
    }
  }
}

/** Each quantity's median over `xs`: robust to the first batches' warm-up and to where the GC happened to be. */
function medianSample(xs: readonly Sample[]): Sample {
  const m = (f: (s: Sample) => number): number => median(xs.map(f));
  return { images: m((s) => s.images), numTensors: m((s) => s.numTensors), tensorMiB: m((s) => s.tensorMiB), rssMiB: m((s) => s.rssMiB), heapMiB: m((s) => s.heapMiB), externalMiB: m((s) => s.externalMiB) };
}

function growth(a: Sample, b: Sample): string {
  return (
    `tensors ${(b.numTensors - a.numTensors).toFixed(0)}, tensor bytes ${((b.tensorMiB - a.tensorMiB) * MiB).toFixed(0)}, RSS ${(b.rssMiB - a.rssMiB).toFixed(1)} MiB, ` +
    `heap ${(b.heapMiB - a.heapMiB).toFixed(1)} MiB, external ${(b.externalMiB - a.externalMiB).toFixed(1)} MiB`
  );
}

function row(s: Sample): string {
  return `${String(s.images).padStart(7)}  ${String(s.numTensors).padStart(7)}  ${s.tensorMiB.toFixed(2).padStart(9)}  ${s.rssMiB.toFixed(1).padStart(8)}  ${s.heapMiB.toFixed(1).padStart(8)}  ${s.externalMiB.toFixed(1).padStart(8)}`;
}

/** The curve every `every` images, then the growth from the first thousand to the end. */
function printReport(samples: readonly Sample[], every: number): void {
  const n = (samples[samples.length - 1] as Sample).images;
  console.log(' images  tensors  tensorMiB    rssMiB   heapMiB    extMiB');
  console.log(row(samples[0] as Sample));
  for (let k = every; k <= n; k += every) console.log(row(samples.find((s) => s.images >= k) as Sample));
  const first = samples.find((s) => s.images >= Math.min(every, n)) as Sample;
  const last = samples[samples.length - 1] as Sample;
  console.log(`growth from image ${first.images} to image ${last.images}: ${growth(first, last)}`);
  const firstWindow = medianSample(samples.filter((s) => s.images > 0 && s.images <= every));
  const lastWindow = medianSample(samples.filter((s) => s.images > n - every));
  // Robust to where the garbage collector happened to be; but the first window holds the warm-up (RSS climbs over
  // the first dozen or so batches as the allocators and the native output pool fill), so this growth reads higher.
  console.log(`growth from the median over the first ${every} images' batches (warm-up included) to the median over the last ${every}'s: ${growth(firstWindow, lastWindow)}`);
  const tensorPeak = Math.max(...samples.slice(1).map((s) => s.numTensors));
  console.log(`peak RSS ${Math.max(...samples.map((s) => s.rssMiB)).toFixed(1)} MiB; most tensors after any batch ${tensorPeak}, ${(samples[0] as Sample).numTensors} before the first (the model's weights)`);
}

async function main(): Promise<void> {
  const n = Number(arg('images', '10000'));
  const distinct = Number(arg('distinct', '100'));
  const batchSize = Number(arg('batch', '64'));
  const every = Number(arg('every', '1000'));
  const model = arg('model', path.join(import.meta.dirname, '..', 'test', 'fixtures', 'regressor', 'diffiqa_r_tiny.pth'));
  const backendArg = arg('backend', '');
  const backend = await initBackend(backendArg === '' ? undefined : backendArg);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-score-memory-'));
  try {
    await writeImages(dir, n, distinct);
    const scorer = loadRegressor(model);
    const samples: Sample[] = [sample(0)];
    const out = path.join(dir, 'scores.csv');
    const t0 = Date.now();
    try {
      await scoreFiles(path.join(dir, 'all'), { model: sampling(scorer, samples), out, batchSize, quiet: true });
    } finally {
      scorer.dispose();
    }
    const seconds = (Date.now() - t0) / 1000;
    const rows = readResults(out).length;
    if (rows !== n) throw new Error(`scored ${rows} images, expected ${n}`);
    console.log(`scoreFiles: ${n} images (${distinct} distinct 112x112 PNGs, hard-linked), ${scorer.name} at ${scorer.inputSize} px, batch ${batchSize}, backend ${backend}, ${seconds.toFixed(1)} s`);
    printReport(samples, every);
    console.log(`tensors after the scorer's dispose(): ${tf.memory().numTensors}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
