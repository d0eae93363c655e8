/** Synthetic face-like image folders for the regressor tests: one folder per identity, PNG files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeImage } from '../../src/data/image-io.js';
import { Rng } from '../../src/util/rng.js';

/** One written image: its path relative to the root, identity and "true" quality (1 - noise level). */
export interface SyntheticItem {
  rel: string;
  identity: number;
  quality: number;
}

/**
 * Writes `ids` x `perId` images of `size` px under `root`: identity i has its own smooth colour pattern, and
 * image j of it is that pattern plus Gaussian noise of level 1 - quality, quality drawn uniformly in [0,1].
 */
export async function writeSyntheticFaces(root: string, ids: number, perId: number, size: number, seed = 1): Promise<SyntheticItem[]> {
  const rng = new Rng(seed);
  const items: SyntheticItem[] = [];
  for (let id = 0; id < ids; id++) {
    const dir = path.join(root, `id${String(id).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const phase = [rng.range(0, 6), rng.range(0, 6), rng.range(0, 6)];
    for (let j = 0; j < perId; j++) {
      const quality = rng.uniform();
      const noise = 0.6 * (1 - quality);
      const data = new Float32Array(size * size * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          for (let c = 0; c < 3; c++) {
            const base = 0.5 + 0.3 * Math.sin((x + 2 * y) / (4 + c) + (phase[c] as number));
            data[(y * size + x) * 3 + c] = Math.min(1, Math.max(0, base + noise * rng.normal()));
          }
        }
      }
      const rel = `id${String(id).padStart(3, '0')}/img${j}.png`;
      await writeImage(path.join(root, rel), { width: size, height: size, data });
      items.push({ rel, identity: id, quality });
    }
  }
  return items;
}
