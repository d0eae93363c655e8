/**
 * The experiment runner end to end on tiny LFW/CFP-shaped data: every stage runs, the report folder is complete,
 * the rank correlations match the label and score files, a rerun skips every stage and reproduces the summary,
 * a changed setting of a finished stage is refused, and a stage interrupted part-way continues from its partial
 * outputs on the rerun and ends where the uninterrupted run ended.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { spearman } from '../../src/eval/rank-correlation.js';
import { runExperiment } from '../../src/experiment/experiment.js';
import { latestCheckpoint, loadCheckpoint } from '../../src/io/checkpoint.js';
import { readResults } from '../../src/pipelines/records.js';
import { InterruptedError } from '../../src/train/trainer.js';
import { ConfigError } from '../../src/util/errors.js';
import { writeTinyCfp, writeTinyLfw } from './tiny-data.js';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-'));
const out = path.join(tmp, 'out');
const configFile = path.join(tmp, 'experiment.yaml');

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  await initBackend();
  await writeTinyLfw(path.join(tmp, 'lfw'));
  await writeTinyCfp(path.join(tmp, 'cfp'));
  // Four training images: fewer than ten, so no held-out monitor (its 101-step restorations would dominate).
  const diffusion = write('diffusion.yaml', `extends: ${ROOT}/configs/demo/diffusion.yaml\ntrain: { steps: 2, checkpointEvery: 1, sampleEvery: 1 }\n`);
  const tinyBackbone = (dim: number) => `model: { kind: KIND, backbone: iresnet, iresnet: { layers: [1, 1, 1, 1], width: 4, embeddingDim: ${dim}, inputSize: 32 }, hidden: 16 }
data: { valEvery: 3 }
train: { epochs: 2, batchSize: 4, trainableTensors: 8, checkpointEvery: 2 }
ediffiqa: { beta: 0.5, minHq: 1 }
`;
  write('r.yaml', tinyBackbone(8).replace('KIND', 'diffiqa-r'));
  write('e.yaml', tinyBackbone(256).replace('KIND', 'ediffiqa'));
  write(
    'experiment.yaml',
    `out: ${out}
seed: 3
data: { lfw: ${tmp}/lfw, cfp: ${tmp}/cfp }
diffusion: { config: ${diffusion}, data: '${tmp}/lfw/images/Person1*/*.jpg' }
label: { repeats: 1, batchSize: 4 }
protocol: { trainFolds: [1, 2], testFolds: [3, 4], cfpFolds: [1, 2] }
regressors:
  - { name: R, config: ${tmp}/r.yaml, set: [train.epochs=3] }
  - { name: E, config: ${tmp}/e.yaml, set: [train.epochs=1] }
eval: { fr: [mobileface] }
`,
  );
}, 60_000);

describe('diffiqa experiment', () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  it('runs every stage and writes the report folder', async () => {
    const result = await runExperiment({ configFile, quiet: true, log });
    const report = path.join(out, 'report');
    for (const f of ['summary.json', 'edc.csv', 'pauc.md', 'rank-correlation.json', 'config.yaml', 'config.resolved.json', 'versions.json', 'stages.json', 'report.html']) {
      expect(fs.existsSync(path.join(report, f)), f).toBe(true);
    }
    const stages = JSON.parse(fs.readFileSync(path.join(out, 'stages.json'), 'utf8')).stages.map((s: { name: string }) => s.name);
    expect(stages).toEqual(['diffusion', 'cross-quality', 'label', 'distil R', 'score R', 'distil E', 'score E']);

    const summary = JSON.parse(fs.readFileSync(path.join(report, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>;
    const methods = new Set(summary.map((r) => r.method));
    expect([...methods].sort()).toEqual(['DifFIQA', 'E', 'R', 'embedding-norm', 'random', 'sharpness']);
    expect(new Set(summary.map((r) => r.dataset))).toEqual(new Set(['lfw', 'xq-lfw', 'cfp-fp']));
    expect(summary.length).toBe(6 * 3 * 2);
    expect(result.results.length).toBe(6 * 3);

    // The correlations agree with the label and score files, recomputed here from the files.
    const labels = new Map(readResults(path.join(out, 'labels', 'lfw.csv')).map((r) => [path.join(tmp, 'lfw', r.path), r.values.score as number]));
    const scores = new Map(readResults(path.join(out, 'scores', 'R.csv')).map((r) => [r.path, r.values.quality as number]));
    const both = [...labels.keys()].filter((k) => scores.has(k));
    const expected = spearman(both.map((k) => scores.get(k) as number), both.map((k) => labels.get(k) as number));
    const got = result.correlations.find((c) => c.method === 'R' && c.dataset === 'lfw');
    expect(got?.images).toBe(both.length);
    expect(got?.spearman).toBeCloseTo(expected, 10);

    // Only training-fold images were distilled from.
    const trainRows = readResults(path.join(out, 'labels', 'lfw-train.csv')).map((r) => r.path);
    expect(trainRows.length).toBe(8);
    expect(trainRows.every((p) => /Person[12][ABC]\//.test(p))).toBe(true);

    const html = fs.readFileSync(path.join(report, 'report.html'), 'utf8');
    expect(html).toContain('Normalised pAUC at discard limit 0.2');
    expect(html).toContain('<svg');
    expect(html).toContain('data:image/png;base64,');
  }, 600_000);

  it('skips every finished stage on a rerun and reproduces the summary', async () => {
    const before = fs.readFileSync(path.join(out, 'report', 'summary.json'), 'utf8');
    const stagesBefore = fs.readFileSync(path.join(out, 'stages.json'), 'utf8');
    lines.length = 0;
    await runExperiment({ configFile, quiet: true, log });
    expect(lines.filter((l) => l.includes('done earlier')).length).toBe(7);
    expect(fs.readFileSync(path.join(out, 'stages.json'), 'utf8')).toBe(stagesBefore);
    expect(fs.readFileSync(path.join(out, 'report', 'summary.json'), 'utf8')).toBe(before);
  }, 300_000);

  it('refuses to mix results when a finished stage changes its settings', async () => {
    await expect(runExperiment({ configFile, overrides: { label: { repeats: 2 } }, quiet: true, log })).rejects.toThrow(ConfigError);
    await expect(runExperiment({ configFile, overrides: { label: { repeats: 2 } }, quiet: true, log })).rejects.toThrow(/stage 'label'/);
  }, 120_000);

  it('continues an interrupted distillation stage from its checkpoint and ends equal to the uninterrupted run', async () => {
    // The state of a run stopped as 'distil R' began: the outputs of the stages before it and of 'distil E', none of
    // R's. (Score files hold absolute paths, which differ in another output folder: 'score E' runs again too.)
    const out2 = path.join(tmp, 'out-interrupted');
    fs.cpSync(out, out2, { recursive: true });
    for (const p of ['regressors/R', 'scores', 'report']) fs.rmSync(path.join(out2, p), { recursive: true, force: true });
    const stagesFile = path.join(out2, 'stages.json');
    const records = JSON.parse(fs.readFileSync(stagesFile, 'utf8')) as { stages: Array<{ name: string }> };
    records.stages = records.stages.filter((s) => !['distil R', 'score R', 'score E'].includes(s.name));
    fs.writeFileSync(stagesFile, JSON.stringify(records));

    const straightRun = path.join(out, 'regressors', 'R');
    const straight = loadCheckpoint(latestCheckpoint(straightRun)!);
    const k = 1; // steps before the stop (one step per epoch, validated after each): two steps are left
    expect(straight.step).toBe(3);
    // The trainer checks its signal once before every step, so this one stops the stage after exactly k steps.
    let checks = 0;
    const signal = { get aborted() { return ++checks > k; } } as AbortSignal;
    const overrides = { out: out2 };
    const stopped = await runExperiment({ configFile, overrides, quiet: true, log, signal }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(InterruptedError);
    expect((stopped as InterruptedError).step).toBe(k);
    const runR = path.join(out2, 'regressors', 'R');
    const metricsFile = path.join(runR, 'metrics.jsonl');
    const partial = fs.readFileSync(metricsFile, 'utf8').trim().split('\n');
    expect(partial).toHaveLength(k);
    expect(JSON.parse(fs.readFileSync(stagesFile, 'utf8')).stages.map((s: { name: string }) => s.name)).not.toContain('distil R');

    lines.length = 0;
    await runExperiment({ configFile, overrides, quiet: true, log });
    expect(lines.filter((l) => l.includes('done earlier')).length).toBe(4); // diffusion, cross-quality, label, distil E
    // Continued, not restarted: the k steps logged before the stop are kept verbatim (their timestamps included).
    const all = fs.readFileSync(metricsFile, 'utf8').trim().split('\n');
    expect(all.slice(0, k)).toEqual(partial);
    // ...and ended where the uninterrupted run ended: the same weights, optimiser state, losses and best model.
    const resumed = loadCheckpoint(latestCheckpoint(runR)!);
    expect(resumed.step).toBe(straight.step);
    for (const part of ['model', 'optim'] as const) {
      for (const [name, t] of straight.tensors[part]!) expect(Array.from(resumed.tensors[part]!.get(name)!.data), `${part}: ${name}`).toEqual(Array.from(t.data));
    }
    const losses = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
      const { step, loss, grad_norm, val_loss } = JSON.parse(l) as Record<string, number>;
      return { step, loss, grad_norm, val_loss };
    });
    expect(losses(metricsFile)).toEqual(losses(path.join(straightRun, 'metrics.jsonl')));
    expect(fs.readFileSync(path.join(runR, 'best.safetensors'))).toEqual(fs.readFileSync(path.join(straightRun, 'best.safetensors')));
    // The later stage and the report see the same model: equal scores (the degraded copies live under each output
    // folder) and the same summary.
    const scores = (dir: string) => readResults(path.join(dir, 'scores', 'R.csv')).map((r) => [path.relative(dir, r.path).startsWith('..') ? r.path : path.relative(dir, r.path), r.values.quality]);
    expect(scores(out2)).toEqual(scores(out));
    expect(fs.readFileSync(path.join(out2, 'report', 'summary.json'), 'utf8')).toBe(fs.readFileSync(path.join(out, 'report', 'summary.json'), 'utf8'));
  }, 120_000);
});
