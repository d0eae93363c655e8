/**
 * Tiny LFW- and CFP-shaped datasets for the experiment tests: the real folder layouts and protocol files
 * (pairs.txt with 10 folds; CFP Protocol/ lists and splits), filled with small synthetic 112x112 JPEGs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeImage } from '../../src/data/image-io.js';
import { Rng } from '../../src/util/rng.js';

async function writeFace(file: string, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const size = 112;
  const phase = [rng.range(0, 6), rng.range(0, 6), rng.range(0, 6)];
  const noise = rng.range(0, 0.4);
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const base = 0.5 + 0.3 * Math.sin((x + 2 * y) / (6 + c) + (phase[c] as number));
        data[(y * size + x) * 3 + c] = Math.min(1, Math.max(0, base + noise * rng.normal()));
      }
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeImage(file, { width: size, height: size, data });
}

/** LFW layout, 10 folds of one mated pair (A 1 2) and one non-mated pair (B 1 C 1): 4 images per fold. */
export async function writeTinyLfw(root: string): Promise<void> {
  const lines = ['10\t1'];
  for (let f = 1; f <= 10; f++) {
    const [a, b, c] = ['A', 'B', 'C'].map((s) => `Person${f}${s}`) as [string, string, string];
    for (const [name, i] of [[a, 1], [a, 2], [b, 1], [c, 1]] as const) {
      await writeFace(path.join(root, 'images', name, `${name}_${String(i).padStart(4, '0')}.jpg`), f * 10 + i + name.length);
    }
    lines.push(`${a}\t1\t2`, `${b}\t1\t${c}\t1`);
  }
  fs.writeFileSync(path.join(root, 'pairs.txt'), `${lines.join('\n')}\n`);
}

/**
 * CFP layout with 3 identities (2 frontal, 1 profile each) and 10 FP and 10 FF folds of one mated and one non-mated
 * pair each.
 */
export async function writeTinyCfp(root: string): Promise<void> {
  const frontal: string[] = [];
  const profile: string[] = [];
  for (let id = 1; id <= 3; id++) {
    const dir = String(id).padStart(3, '0');
    for (const n of [1, 2]) frontal.push(`../Data/Images/${dir}/frontal/0${n}.jpg`);
    profile.push(`../Data/Images/${dir}/profile/01.jpg`);
  }
  for (const [i, rel] of [...frontal, ...profile].entries()) await writeFace(path.join(root, 'Protocol', rel), 1000 + i);
  const proto = path.join(root, 'Protocol');
  fs.mkdirSync(proto, { recursive: true });
  fs.writeFileSync(path.join(proto, 'Pair_list_F.txt'), frontal.map((p, i) => `${i + 1} ${p}`).join('\n'));
  fs.writeFileSync(path.join(proto, 'Pair_list_P.txt'), profile.map((p, i) => `${i + 1} ${p}`).join('\n'));
  for (let f = 1; f <= 10; f++) {
    const dir = path.join(proto, 'Split', 'FP', String(f).padStart(2, '0'));
    fs.mkdirSync(dir, { recursive: true });
    const id = (f % 3) + 1;
    fs.writeFileSync(path.join(dir, 'same.txt'), `${2 * id - 1},${id}\n`);
    fs.writeFileSync(path.join(dir, 'diff.txt'), `${2 * id},${(id % 3) + 1}\n`);
    const ff = path.join(proto, 'Split', 'FF', String(f).padStart(2, '0'));
    fs.mkdirSync(ff, { recursive: true });
    fs.writeFileSync(path.join(ff, 'same.txt'), `${2 * id - 1},${2 * id}\n`);
    fs.writeFileSync(path.join(ff, 'diff.txt'), `${2 * id - 1},${2 * ((id % 3) + 1)}\n`);
  }
}
