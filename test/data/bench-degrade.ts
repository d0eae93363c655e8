/**
 * Timing of the data path (not a test; run by hand): ms per image for decoding, for the LQ degradation chain,
 * and samples/s of PairDataset with the in-process and the worker-thread loader. Wall times depend on the
 * machine's load; the chain's CPU time (process.cpuUsage, sharp's threads included) does much less.
 * Run: npx tsx test/data/bench-degrade.ts [count=20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { PairDataset } from '../../src/data/dataset.js';
import { degradeChain } from '../../src/data/degrade/bsrgan.js';
import { decodeImage } from '../../src/data/image-io.js';
import { WorkerPairLoader } from '../../src/data/worker-loader.js';
import { Rng } from '../../src/util/rng.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'diffiqa-bench-'));
  try {
    // A CelebA-sized (178x218) JPEG with texture.
    const w = 178;
    const h = 218;
    const px = Buffer.alloc(w * h * 3).map((_, i) => (Math.sin(i / 97) * 60 + ((i * 7919) % 61) + 100) & 255);
    const file = join(dir, 'face.jpg');
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);

    const decodeMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await decodeImage(file);
      decodeMs.push(performance.now() - t0);
    }
    const src = await decodeImage(file, { size: 'native' });
    const chainMs: number[] = [];
    const chainCpuMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await degradeChain(src, new Rng(`bench:${i}`), 112, 112);
      const c = process.cpuUsage(c0);
      chainCpuMs.push((c.user + c.system) / 1000);
      chainMs.push(performance.now() - t0);
    }
    console.log(`decode to 112x112: median ${median(decodeMs).toFixed(1)} ms over ${count}`);
    console.log(`LQ chain (autoDegrade x1 / p0.2 / p0.01 + resize): median ${median(chainMs).toFixed(1)} ms, ` +
      `min ${Math.min(...chainMs).toFixed(1)}, max ${Math.max(...chainMs).toFixed(1)} over ${count}; ` +
      `CPU time (all threads, load-independent) median ${median(chainCpuMs).toFixed(1)} ms, ` +
      `mean ${(chainCpuMs.reduce((a, b) => a + b, 0) / count).toFixed(1)} ms`);

    const files = Array.from({ length: 8 }, () => file);
    for (const workers of [0, 1, 2]) {
      const pool = workers > 0 ? new WorkerPairLoader(workers) : null;
      const ds = new PairDataset({ files, seed: 1, batchSize: 8, loadPair: pool?.load, concurrency: Math.max(2, workers * 2) });
      await ds.nextBatch(); // warm-up (worker start, JIT)
      const t0 = performance.now();
      for (let k = 0; k < 2; k++) await ds.nextBatch();
      const ms = (performance.now() - t0) / 16;
      ds.dispose();
      await pool?.dispose();
      console.log(`PairDataset, ${workers ? `${workers} worker(s)` : 'in-process'}: ${ms.toFixed(1)} ms per sample`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
