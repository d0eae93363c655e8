/**
 * Integration on aligned LFW (../shared/data/lfw-112; skipped when absent): embedImages with the shipped FR
 * models separates a few mated from non-mated pairs. The full 10-fold numbers come from bench/fr.ts.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLfwPairs } from '../../src/eval/inputs.js';
import { embedImages } from '../../src/fr/embed.js';
import { cosineSimilarity } from '../../src/fr/verification.js';

const root = fileURLToPath(new URL('../../../shared/data/lfw-112', import.meta.url));
const present = existsSync(join(root, 'pairs.txt'));
if (!present) console.warn(`SKIP lfw-embed: ${root} not found`);

describe.skipIf(!present)('FR models on LFW pairs', () => {
  // dlib descriptors are not centred (cosines cluster near 0.85-0.95; dlib itself uses Euclidean distance), so
  // its cosine margin is smaller: measured 0.14 on these pairs (0.045 with a plain 112->150 resize), against
  // 0.45 for mobileface.
  it.each([['mobileface', 0.2], ['dlib', 0.07]] as const)('%s: mated pairs are more similar than non-mated ones', async (name, margin) => {
    const all = loadLfwPairs(join(root, 'pairs.txt')).filter((p) => p.fold === 1);
    const pairs = [...all.filter((p) => p.mated).slice(0, 4), ...all.filter((p) => !p.mated).slice(0, 4)];
    const paths = [...new Set(pairs.flatMap((p) => [join(root, p.a), join(root, p.b)]))];
    const emb = await embedImages(name, paths, { batchSize: 8 });
    expect(emb.size).toBe(paths.length);
    const sim = (m: boolean): number[] =>
      pairs.filter((p) => p.mated === m).map((p) => cosineSimilarity(emb.get(join(root, p.a))!, emb.get(join(root, p.b))!));
    const mated = sim(true);
    const non = sim(false);
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`${name}: mated ${mated.map((v) => v.toFixed(2))}, non-mated ${non.map((v) => v.toFixed(2))}`);
    expect(mean(mated) - mean(non)).toBeGreaterThan(margin);
  });
});
