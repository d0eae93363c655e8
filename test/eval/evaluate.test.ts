import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { getEmbeddingCachePath, loadEmbeddingCache, saveEmbeddingCache } from '../../src/eval/embedding-cache.js';
import { evaluate, scorePairs } from '../../src/eval/evaluate.js';
import type { Pair } from '../../src/eval/inputs.js';
import { escapeXml } from '../../src/eval/plot.js';
import { buildPaucMarkdown, writeEvalOutputs } from '../../src/eval/report.js';
import { DataError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-evaluate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** 40 identities x 3 images with 4-d embeddings: identity centre + noise scaled by (1 − quality). */
function makeWorld(): { pairs: Pair[]; embeddings: Map<string, Float32Array>; quality: Map<string, number> } {
  const rng = new Rng('evaluate-world');
  const embeddings = new Map<string, Float32Array>();
  const quality = new Map<string, number>();
  const centres = Array.from({ length: 40 }, () => rng.normalArray(4));
  centres.forEach((c, id) => {
    for (let k = 0; k < 3; k++) {
      const q = rng.uniform();
      const p = `images/id${id}/img${k}.jpg`;
      quality.set(p, q);
      embeddings.set(p, Float32Array.from(c, (v) => v + 2 * (1 - q) * rng.normal()));
    }
  });
  const pairs: Pair[] = [];
  for (let id = 0; id < 40; id++) {
    pairs.push({ a: `images/id${id}/img0.jpg`, b: `images/id${id}/img1.jpg`, mated: true, fold: 1 });
    pairs.push({ a: `images/id${id}/img1.jpg`, b: `images/id${id}/img2.jpg`, mated: true, fold: 1 });
    pairs.push({ a: `images/id${id}/img0.jpg`, b: `images/id${(id + 1) % 40}/img2.jpg`, mated: false, fold: 1 });
    pairs.push({ a: `images/id${id}/img2.jpg`, b: `images/id${(id + 7) % 40}/img1.jpg`, mated: false, fold: 1 });
  }
  return { pairs, embeddings, quality };
}

describe('evaluate', () => {
  const world = makeWorld();
  const inverse = new Map([...world.quality].map(([p, q]) => [p, -q]));
  const qualities = new Map([
    ['oracle', world.quality],
    ['inverse', inverse],
  ]);

  it('gives the same results from pairs + embeddings as from precomputed comparisons', () => {
    const fromEmb = evaluate({ fr: 'toy', dataset: 'world', pairs: world.pairs, embeddings: world.embeddings, qualities, fmr: 0.05 });
    const fromCmp = evaluate({ fr: 'toy', dataset: 'world', comparisons: scorePairs(world.pairs, world.embeddings), qualities, fmr: 0.05 });
    expect(fromEmb).toEqual(fromCmp);
    expect(fromEmb.map((r) => r.method)).toEqual(['oracle', 'inverse']);
    const [oracle, inv] = fromEmb as [NonNullable<(typeof fromEmb)[0]>, NonNullable<(typeof fromEmb)[0]>];
    expect(oracle.fnmr0).toBeGreaterThan(0);
    // Noise shrinks with quality, so the true quality must beat its inverse.
    expect(oracle.paucs[0]?.paucNorm).toBeLessThan(inv.paucs[0]?.paucNorm as number);
    expect(oracle.paucs.map((p) => p.limit)).toEqual([0.2, 0.3]);
    expect(oracle.curve.points).toHaveLength(20);
  });

  it('names the quality source and the missing images', () => {
    const partial = new Map([...world.quality].slice(5));
    expect(() =>
      evaluate({
        fr: 'toy',
        dataset: 'world',
        pairs: world.pairs,
        embeddings: world.embeddings,
        qualities: new Map([['m', partial]]),
        qualitySources: new Map([['m', 'q/m.csv']]),
      }),
    ).toThrow(/q\/m\.csv: 5 of 120 pair images have no quality/);
  });

  it('reports a missing embedding', () => {
    const emb = new Map(world.embeddings);
    emb.delete('images/id3/img1.jpg');
    expect(() => scorePairs(world.pairs, emb)).toThrow(/images\/id3\/img1\.jpg: no embedding/);
  });
});

describe('embedding cache', () => {
  it('round-trips bit for bit and refuses a foreign or corrupt file', () => {
    const emb = new Map([
      ['images/a b/ü.jpg', new Float32Array([1.5, -2.25, Math.PI])],
      ['images/c.jpg', new Float32Array([1e-30, 3e30, -0])],
    ]);
    const file = getEmbeddingCachePath(tmp, 'mobile/face', 'lfw');
    expect(path.relative(tmp, file)).toBe(path.join('mobile_face', 'lfw.emb'));
    expect(loadEmbeddingCache(file, 'mobile/face', 'lfw')).toBeNull();
    saveEmbeddingCache(file, 'mobile/face', 'lfw', emb);
    const back = loadEmbeddingCache(file, 'mobile/face', 'lfw');
    expect([...(back?.keys() ?? [])]).toEqual([...emb.keys()]);
    for (const [k, v] of emb) expect(Buffer.from((back?.get(k) as Float32Array).buffer)).toEqual(Buffer.from(v.buffer));
    expect(() => loadEmbeddingCache(file, 'mobile/face', 'cfp')).toThrow(/cache is for/);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 40));
    expect(() => loadEmbeddingCache(file, 'mobile/face', 'lfw')).toThrow(DataError);
    fs.writeFileSync(file, 'hello world, not a cache');
    expect(() => loadEmbeddingCache(file, 'mobile/face', 'lfw')).toThrow(/bad magic/);
  });
});

describe('writeEvalOutputs', () => {
  const world = makeWorld();
  const qualities = new Map([
    ['A&B <q>', world.quality],
    ['flat', new Map([...world.quality].map(([p]) => [p, 1]))],
  ]);
  const results = [
    ...evaluate({ fr: 'toy', dataset: 'world', pairs: world.pairs, embeddings: world.embeddings, qualities, fmr: 0.05 }),
    ...evaluate({ fr: 'toy2', dataset: 'world', pairs: world.pairs, embeddings: world.embeddings, qualities, fmr: 0.05 }),
  ];

  it('writes summary, EDC csv, Markdown table and escaped SVG + PNG plots', async () => {
    const out = path.join(tmp, 'out');
    const files = await writeEvalOutputs(out, results);
    const summary = JSON.parse(fs.readFileSync(files.summary, 'utf8')) as Array<Record<string, unknown>>;
    expect(summary).toHaveLength(results.length * 2);
    expect(summary[0]).toEqual({
      method: 'A&B <q>',
      fr: 'toy',
      dataset: 'world',
      threshold_mode: 'fixed',
      fmr: 0.05,
      discard_limit: 0.2,
      fnmr0: results[0]?.fnmr0,
      pauc: results[0]?.paucs[0]?.pauc,
      pauc_norm: results[0]?.paucs[0]?.paucNorm,
    });
    // The flat quality discards everything at once: normalised pAUC exactly 1 (see pauc.ts).
    expect(summary[2]?.pauc_norm).toBeCloseTo(1, 12);
    const csv = fs.readFileSync(files.edcCsv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('method,fr,dataset,discard,fnmr,threshold,discard_actual');
    expect(csv).toHaveLength(1 + results.length * 20);
    expect(csv[1]).toMatch(/^A&B <q>,toy,world,0,/);
    expect(csv.some((l) => l.startsWith('flat,toy,world,0.05,NaN,'))).toBe(true);
    expect(files.plots.map((p) => path.basename(p.png))).toEqual(['edc_toy_world.png', 'edc_toy2_world.png']);
    const svg = fs.readFileSync(files.plots[0]?.svg as string, 'utf8');
    expect(svg).toContain(escapeXml('A&B <q>'));
    expect(svg).not.toContain('A&B <q>');
    expect((svg.match(/<path /g) ?? []).length).toBe(2);
    const meta = await sharp(files.plots[0]?.png as string).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 760, 480]);
    const md = fs.readFileSync(files.paucMd, 'utf8');
    expect(md).toContain('| Method | world / toy | world / toy2 | Mean |');
    expect(md).toContain('## fixed threshold, discard limit 0.3');
    expect(fs.readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('averages the finite cells in the Markdown mean column', () => {
    const v = (results[0]?.paucs[0]?.paucNorm as number) / 2 + (results[2]?.paucs[0]?.paucNorm as number) / 2;
    expect(buildPaucMarkdown(results)).toContain(`| ${v.toFixed(4)} |`);
  });
});
