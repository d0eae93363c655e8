import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEmbeddingCache } from '../../src/eval/embedding-cache.js';
import { selectIdentities } from '../../src/regressor/label-optimisation.js';
import { trainRegressor } from '../../src/train/train-regressor.js';
import { ConfigError } from '../../src/util/errors.js';
import { config, makeData, mean } from './train-helpers.js';

/**
 * Hand-chosen DifFIQA scores per identity, best first (given to its images in order of their true quality). With
 * beta 0.5 and minHq 3 (the test config): the 24 scores sorted descending are .99 .97 .95 .92 .90 .88 .85 .84 .80
 * .78 .35 .31 [.30] ..., so tau = 0.30 (rank floor(0.5 * 24) = 12). HQ images (score >= tau): id000 has 6, id001
 * has 5, id002 only 2 (.99, .97), so id002 is dropped with all 8 of its images although it holds the best scores.
 * The 16 kept labels span [0.15, 0.95] (all 24 span [0.05, 0.99]); every 10th by label goes to validation:
 * positions 0 and 10 of the kept labels in ascending order (.15 and .84), so 2 validation and 14 training images.
 */
const SCORES: Record<string, number[]> = {
  id000: [0.95, 0.9, 0.85, 0.8, 0.31, 0.3, 0.2, 0.15],
  id001: [0.92, 0.88, 0.84, 0.78, 0.35, 0.28, 0.22, 0.18],
  id002: [0.99, 0.97, 0.29, 0.27, 0.26, 0.12, 0.1, 0.05],
};

describe('trainRegressor (eDifFIQA)', () => {
  it('eDifFIQA: teacher embeddings cached, identities filtered, loss falls, best saved', async () => {
    const { root, items } = await makeData();
    const rows = Object.entries(SCORES).flatMap(([id, scores]) =>
      items
        .filter((it) => it.rel.startsWith(`${id}/`))
        .sort((a, b) => b.quality - a.quality)
        .map((it, j) => ({ id, rel: it.rel, score: scores[j] as number })),
    );
    expect(rows).toHaveLength(24);
    const labels = path.join(root, 'hand-labels.csv');
    fs.writeFileSync(labels, `path,score\n${rows.map((r) => `${r.rel},${r.score}`).join('\n')}\n`);

    // The selection itself, against the hand-computed values above.
    const sel = selectIdentities(rows.map((r) => r.id), rows.map((r) => r.score), 0.5, 3);
    expect(sel.tau).toBe(0.3);
    expect(sel.identities).toEqual(['id000', 'id001']);
    expect(sel.hqMembers.map((m) => m.map((i) => rows[i]!.score).sort())).toEqual([
      [0.3, 0.31, 0.8, 0.85, 0.9, 0.95],
      [0.35, 0.78, 0.84, 0.88, 0.92],
    ]);
    expect(sel.keptItems.map((i) => rows[i]!.id)).toEqual([...Array(8).fill('id000'), ...Array(8).fill('id001')]);
    expect(sel.centreOf.filter((c, i) => rows[i]!.id === 'id002' && c !== -1)).toEqual([]);

    const runDir = path.join(root, 'run');
    // mobileface teacher: 256-d. A random student starts far from the teacher (L_rc ~ 1), so a lower lr.
    const base = config('ediffiqa', 256);
    expect(base.ediffiqa).toMatchObject({ beta: 0.5, minHq: 3 });
    const cfg = { ...base, train: { ...base.train, epochs: 8, headLr: 3e-3, backboneLr: 3e-4 } };
    const losses: number[] = [];
    const data = path.join(root, 'faces');
    const r = await trainRegressor({ config: cfg, labels, data, runDir, quiet: true, onStep: (_, l) => losses.push(l) });
    // Training saw only the kept identities: their 16 images, their label range, their split.
    expect(r.trainItems).toBe(14);
    expect(r.valItems).toBe(2);
    expect(r.labels).toEqual({ min: 0.15, max: 0.95 });
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
    expect(r.bestFile).not.toBeNull();
    const cache = path.join(runDir, 'teacher', 'mobileface', 'teacher.emb');
    expect(fs.existsSync(cache)).toBe(true);
    // Only the kept images were embedded by the teacher: none of id002's.
    const embedded = [...loadEmbeddingCache(cache, 'mobileface', path.resolve(data))!.keys()].sort();
    expect(embedded).toEqual(rows.filter((row) => row.id !== 'id002').map((row) => row.rel).sort());
    const mtime = fs.statSync(cache).mtimeMs;
    const again = await trainRegressor({ config: cfg, labels, data, runDir, resume: true, quiet: true });
    expect(again.steps).toBe(r.steps);
    expect(fs.statSync(cache).mtimeMs).toBe(mtime); // nothing re-embedded
    // A student whose embedding size differs from the teacher's is refused up front.
    await expect(trainRegressor({ config: config('ediffiqa', 16), labels, data, runDir: path.join(root, 'bad'), quiet: true })).rejects.toThrow(ConfigError);
  });
});
