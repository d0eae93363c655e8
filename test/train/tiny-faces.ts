/** Shared fixtures of the diffusion-training tests: a few small synthetic faces and the demo's tiny UNet config. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { loadDiffusionConfig, type DiffusionConfig } from '../../src/diffusion/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Writes `count` 32x32 PNGs of seeded patterns to `dir` (created); returns `dir`. */
export async function writeTinyFaces(dir: string, count: number): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const px = Buffer.from(Array.from({ length: 32 * 32 * 3 }, (_, j) => (j * 31 + i * 97) % 256));
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(path.join(dir, `f${i}.png`));
  }
  return dir;
}

/** configs/demo/diffusion.yaml (dim 8) on `data`, batch 2, a checkpoint every step, with `train` overrides. */
export function tinyDiffusionConfig(data: string, train: Record<string, number> = {}): DiffusionConfig {
  return loadDiffusionConfig(path.join(ROOT, 'configs/demo/diffusion.yaml'), {
    data: { folder: data },
    train: { batchSize: 2, checkpointEvery: 1, sampleEvery: 1000, sampleCount: 1, ...train },
  });
}
