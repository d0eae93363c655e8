import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yargs from 'yargs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvalCommand, parseFolds, type EvalCommandDeps } from '../../src/cli/eval.js';
import { getEmbeddingCachePath, loadEmbeddingCache } from '../../src/eval/embedding-cache.js';
import { ConfigError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffiqa-cli-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `eval` through yargs, as main.ts would. */
async function runCli(argv: string[], deps: EvalCommandDeps = {}): Promise<string[]> {
  const lines: string[] = [];
  await yargs(argv)
    .command(makeEvalCommand({ ...deps, log: (l) => lines.push(l) }))
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  return lines;
}

interface Row {
  a: string;
  b: string;
  mated: boolean;
  score: number;
}

/**
 * Independent float64 reference of one summary value: fixed threshold (lowest candidate score, or +Inf, with
 * FMR <= target), tie-aware discarding by pair quality cut, step pAUC over actual fractions (METHOD.md §5.2).
 */
function referencePauc(rows: Row[], q: Map<string, number>, fmr: number, limit: number): { fnmr0: number; pauc: number } {
  const pq = rows.map((r) => Math.min(q.get(r.a) as number, q.get(r.b) as number));
  const non = rows.filter((r) => !r.mated).map((r) => r.score);
  const candidates = [...new Set(rows.map((r) => r.score))].sort((x, y) => x - y).concat([Infinity]);
  let t = Infinity;
  for (const c of candidates) {
    if (non.filter((s) => s >= c).length / non.length <= fmr) {
      t = c;
      break;
    }
  }
  const matedIdx = rows.map((r, i) => (r.mated ? i : -1)).filter((i) => i >= 0);
  const nM = matedIdx.length;
  const sortedQ = matedIdx.map((i) => pq[i] as number).sort((x, y) => x - y);
  const xs: number[] = [];
  const es: number[] = [];
  for (let step = 0; step < 20; step++) {
    const d = step * 0.05;
    const k = Math.ceil(d * nM - 1e-9);
    const cut = k === 0 ? -Infinity : (sortedQ[k - 1] as number);
    const kept = matedIdx.filter((i) => (pq[i] as number) > cut);
    xs.push(1 - kept.length / nM);
    es.push(kept.filter((i) => (rows[i] as Row).score < t).length / kept.length);
  }
  let area = 0;
  for (let i = 0; i < xs.length; i++) {
    const x0 = xs[i] as number;
    const x1 = Math.min(i + 1 < xs.length ? (xs[i + 1] as number) : limit, limit);
    if (x1 > x0) area += (es[i] as number) * (x1 - x0);
  }
  return { fnmr0: es[0] as number, pauc: area };
}

describe('eval command with --comparisons', () => {
  // 300 mated + 300 non-mated comparisons; mated scores improve with the (rounded, hence tied) image qualities.
  const rng = new Rng('cli-eval');
  const rows: Row[] = [];
  const quality = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const a = `imgs/p${i}/a.jpg`;
    const b = `imgs/p${i}/b.jpg`;
    quality.set(a, Math.round(rng.uniform() * 20) / 20);
    quality.set(b, Math.round(rng.uniform() * 20) / 20);
    const mated = i < 300;
    const qmin = Math.min(quality.get(a) as number, quality.get(b) as number);
    rows.push({ a, b, mated, score: mated ? 0.2 + 0.5 * qmin + 0.15 * rng.normal() : 0.12 * rng.normal() });
  }
  const cmp = path.join(tmp, 'toy-pairs.csv');
  fs.writeFileSync(cmp, `a,b,mated,score\n${rows.map((r) => `${r.a},${r.b},${r.mated ? 1 : 0},${r.score}`).join('\n')}\n`);
  const qfile = path.join(tmp, 'mine.csv');
  // The labeller's column name `score`, and './'-prefixed paths: both must be accepted.
  fs.writeFileSync(qfile, `path,score\n${[...quality].map(([p, q]) => `./${p},${q}`).join('\n')}\n`);

  it('writes outputs whose pAUC matches an independent float64 loop', async () => {
    const out = path.join(tmp, 'out1');
    const log = await runCli(['eval', '--comparisons', cmp, '--fr', 'toyface', '--quality', `mine=${qfile}`, '--fmr', '0.01', '--out', out]);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<Record<string, number | string>>;
    // Methods: mine + the random baseline (no --data, so no sharpness), 2 limits each.
    expect(summary.map((s) => [s.method, s.discard_limit])).toEqual([
      ['mine', 0.2],
      ['mine', 0.3],
      ['random', 0.2],
      ['random', 0.3],
    ]);
    for (const s of summary.filter((x) => x.method === 'mine')) {
      const ref = referencePauc(rows, quality, 0.01, s.discard_limit as number);
      expect(s.fr).toBe('toyface');
      expect(s.dataset).toBe('toy-pairs');
      expect(s.threshold_mode).toBe('fixed');
      expect(s.fnmr0).toBeCloseTo(ref.fnmr0, 12);
      expect(s.pauc).toBeCloseTo(ref.pauc, 12);
      expect(s.pauc_norm).toBeCloseTo(ref.pauc / (ref.fnmr0 * (s.discard_limit as number)), 12);
      // A quality that drives the scores must beat no discarding.
      expect(s.pauc_norm as number).toBeLessThan(0.95);
    }
    for (const f of ['edc.csv', 'pauc.md', 'edc_toyface_toy-pairs.svg', 'edc_toyface_toy-pairs.png']) {
      expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(100);
    }
    expect(log.some((l) => l.startsWith('eval: mine | toyface | toy-pairs'))).toBe(true);
  });

  it('recompute mode and option errors', async () => {
    const out = path.join(tmp, 'out2');
    await runCli(['eval', '--comparisons', cmp, '--quality', `mine=${qfile}`, '--threshold', 'recompute', '--baselines', 'none', '--out', out]);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>;
    expect(summary.map((s) => [s.method, s.threshold_mode, s.fr])).toEqual([
      ['mine', 'recompute', 'given'],
      ['mine', 'recompute', 'given'],
    ]);
    await expect(runCli(['eval', '--comparisons', cmp, '--quality', `mine${qfile}`, '--out', out])).rejects.toThrow(/NAME=FILE/);
    await expect(runCli(['eval', '--quality', `mine=${qfile}`, '--out', out])).rejects.toThrow(/exactly one of/);
    await expect(runCli(['eval', '--comparisons', cmp, '--baselines', 'sharpness', '--out', out])).rejects.toThrow(/needs --data/);
    await expect(runCli(['eval', '--comparisons', cmp, '--discard-limits', '0.2,x', '--out', out])).rejects.toThrow(ConfigError);
    await expect(runCli(['eval', '--comparisons', cmp, '--threshold', 'fixed,median', '--out', out])).rejects.toThrow(/--threshold/);
    await expect(runCli(['eval', '--comparisons', cmp, '--bootstrap', '-1', '--out', out])).rejects.toThrow(/--bootstrap/);
  });

  it('regenerates a published results folder: <set>__<fr>.csv files, {fr} quality files, both modes, intervals', async () => {
    const dir = path.join(tmp, 'published');
    fs.mkdirSync(dir);
    const half = (from: number): string => `a,b,mated,score\n${rows.filter((_, i) => i % 2 === from).map((r) => `${r.a},${r.b},${r.mated ? 1 : 0},${r.score}`).join('\n')}\n`;
    fs.writeFileSync(path.join(dir, 'even__fa.csv'), half(0));
    fs.writeFileSync(path.join(dir, 'odd__fb.csv'), half(1));
    // A per-FR quality: for fa the informative one, for fb a constant (normalised pAUC exactly 1).
    fs.copyFileSync(qfile, path.join(dir, 'norm__fa.csv'));
    fs.writeFileSync(path.join(dir, 'norm__fb.csv'), `path,quality\n${[...quality.keys()].map((p) => `${p},1`).join('\n')}\n`);
    const out = path.join(tmp, 'out-published');
    const argv = ['eval', '--comparisons', path.join(dir, 'even__fa.csv'), path.join(dir, 'odd__fb.csv'), '--quality', `mine=${qfile}`, `norm=${path.join(dir, 'norm__{fr}.csv')}`];
    await runCli([...argv, '--baselines', 'none', '--fmr', '0.01', '--threshold', 'fixed,recompute', '--bootstrap', '40', '--out', out]);
    type S = { method: string; fr: string; dataset: string; threshold_mode: string; discard_limit: number; pauc_norm: number; pauc_norm_ci: { lo: number; hi: number; samples: number } };
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as S[];
    expect(new Set(summary.map((s) => `${s.dataset}/${s.fr}/${s.threshold_mode}`))).toEqual(new Set(['even/fa/fixed', 'even/fa/recompute', 'odd/fb/fixed', 'odd/fb/recompute']));
    const cell = (m: string, fr: string, mode = 'fixed', limit = 0.3): S => summary.find((s) => s.method === m && s.fr === fr && s.threshold_mode === mode && s.discard_limit === limit)!;
    expect(cell('norm', 'fb').pauc_norm).toBe(1);
    expect(cell('norm', 'fa').pauc_norm).toBeCloseTo(cell('mine', 'fa').pauc_norm, 12);
    // Every cell has an interval around its value (an identity per image pair here).
    for (const s of summary) {
      expect(s.pauc_norm_ci.samples).toBe(40);
      expect(s.pauc_norm_ci.lo).toBeLessThanOrEqual(s.pauc_norm_ci.hi);
    }
    expect(cell('mine', 'fa').pauc_norm_ci.hi).toBeLessThan(1);
    const md = fs.readFileSync(path.join(out, 'pauc.md'), 'utf8');
    expect(md).toContain('## recompute threshold, discard limit 0.2');
    expect(md).toMatch(/\| mine \| \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\] \|/);
    // The same command gives the same bytes (seeded).
    const again = path.join(tmp, 'out-published-2');
    await runCli([...argv, '--baselines', 'none', '--fmr', '0.01', '--threshold', 'fixed,recompute', '--bootstrap', '40', '--out', again]);
    expect(fs.readFileSync(path.join(again, 'pauc.md'), 'utf8')).toBe(md);
    await expect(runCli(['eval', '--comparisons', cmp, path.join(dir, 'odd__fb.csv'), '--out', out])).rejects.toThrow(/<set>__<fr>\.csv/);
  });
});

describe('eval command with --protocol and the embedding cache', () => {
  // A 1-fold LFW-format dataset: 2 mated + 2 non-mated pairs over 6 images (no image files are needed, since
  // embeddings come from the injected FR function; sharpness is off).
  const data = path.join(tmp, 'lfw-mini');
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(path.join(data, 'pairs.txt'), '1 2\nAnn 1 2\nBob 1 2\nAnn 1 Bob 1\nAnn 2 Cid 1\n');
  const vectors: Record<string, number[]> = {
    'images/Ann/Ann_0001.jpg': [1, 0.1],
    'images/Ann/Ann_0002.jpg': [1, 0.3],
    'images/Bob/Bob_0001.jpg': [0, 1],
    'images/Bob/Bob_0002.jpg': [0.6, 1],
    'images/Cid/Cid_0001.jpg': [-1, 0.2],
  };
  const qfile = path.join(tmp, 'mini-q.jsonl');
  fs.writeFileSync(qfile, Object.keys(vectors).map((p, i) => JSON.stringify({ path: path.join(data, p), quality: i })).join('\n'));
  const calls: string[][] = [];
  const embedImages = async (fr: string, paths: string[]): Promise<Map<string, Float32Array>> => {
    expect(fr).toBe('tiny');
    calls.push(paths);
    return new Map(paths.map((p) => [p, Float32Array.from(vectors[path.relative(data, p).split(path.sep).join('/')] as number[])]));
  };

  it('computes missing embeddings once, caches them, and reuses the cache', async () => {
    const out = path.join(tmp, 'out3');
    const argv = ['eval', '--protocol', 'lfw', '--data', data, '--fr', 'tiny', '--quality', `q=${qfile}`, '--baselines', 'random,embedding-norm', '--fmr', '0.5', '--out', out];
    await runCli(argv, { embedImages });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.map((p) => path.relative(data, p)).sort()).toEqual(Object.keys(vectors).map((p) => path.normalize(p)).sort());
    const cache = loadEmbeddingCache(getEmbeddingCachePath(path.join(out, 'embeddings'), 'tiny', 'lfw'), 'tiny', 'lfw');
    expect(cache?.get('images/Bob/Bob_0002.jpg')).toEqual(Float32Array.from([0.6, 1]));
    await runCli(argv, { embedImages });
    expect(calls).toHaveLength(1);
    // Without an FR function and without a cache the command says what is missing.
    await expect(runCli([...argv.slice(0, -1), path.join(tmp, 'out4')])).rejects.toThrow(/5 images of 'lfw' have no cached 'tiny' embedding/);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>;
    expect([...new Set(summary.map((s) => s.method))]).toEqual(['q', 'random', 'embedding-norm']);
    // Hand check, fixed threshold at FMR 0.5 (at-most): non-mated cosines Ann1·Bob1 = 0.1/|(1,.1)| ≈ 0.0995 and
    // Ann2·Cid1 = (−1 + 0.06)/(|(1,.3)|·|(−1,.2)|) < 0; mated Ann1·Ann2 ≈ 0.98, Bob1·Bob2 = 1/|(.6,1)| ≈ 0.857.
    // FMR(t) <= 0.5 first at t = 0.0995 (only that impostor is >= t, 1/2): both mated pairs match: FNMR(0) = 0.
    expect(summary[0]?.fnmr0).toBe(0);
    expect(summary[0]?.pauc_norm).toBeNull();
  });

  it('parses fold ranges', () => {
    expect(parseFolds('6-10')).toEqual([6, 7, 8, 9, 10]);
    expect(parseFolds('1,3-4')).toEqual([1, 3, 4]);
    expect(() => parseFolds('a-b')).toThrow(ConfigError);
  });
});
