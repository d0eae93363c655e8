/**
 * The full-protocol form of the experiment on tiny data: labelling with a trained diffusion model and scoring with
 * trained regressors (no training stage), CFP-FP and CFP-FF read from aligned crops, SER-FIQ, both threshold modes,
 * bootstrap intervals, and a published folder from which `diffiqa eval` recomputes pauc.md and summary.json byte
 * for byte.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yargs from 'yargs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { makeEvalCommand } from '../../src/cli/eval.js';
import { decodeImage, writeImage } from '../../src/data/image-io.js';
import { runExperiment } from '../../src/experiment/experiment.js';
import { loadExperimentConfig } from '../../src/experiment/config.js';
import { readResults } from '../../src/pipelines/records.js';
import { ConfigError } from '../../src/util/errors.js';
import { writeTinyCfp, writeTinyLfw } from './tiny-data.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-published-'));
const out = path.join(tmp, 'out');
const published = path.join(tmp, 'published');
const configFile = path.join(tmp, 'experiment.yaml');

beforeAll(async () => {
  await initBackend();
  await writeTinyLfw(path.join(tmp, 'lfw'));
  await writeTinyCfp(path.join(tmp, 'cfp'));
  // "Aligned" crops in the prepare-faces layout (<id>/<pose>/<nn>.png), each a mirror image of its photo, so that a
  // set read from them differs from one read from the photos.
  const images = path.join(tmp, 'cfp', 'Data', 'Images');
  for (const id of fs.readdirSync(images)) {
    for (const pose of fs.readdirSync(path.join(images, id))) {
      for (const name of fs.readdirSync(path.join(images, id, pose))) {
        const img = await decodeImage(path.join(images, id, pose, name));
        const mirrored = new Float32Array(img.data.length);
        for (let y = 0; y < img.height; y++) {
          for (let x = 0; x < img.width; x++) for (let c = 0; c < 3; c++) mirrored[(y * img.width + x) * 3 + c] = img.data[(y * img.width + (img.width - 1 - x)) * 3 + c] as number;
        }
        const target = path.join(tmp, 'cfp-aligned', id, pose, name.replace(/\.jpg$/, '.png'));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        await writeImage(target, { ...img, data: mirrored });
      }
    }
  }
  fs.writeFileSync(
    configFile,
    `out: ${out}
seed: 3
data: { lfw: ${tmp}/lfw, cfp: ${tmp}/cfp, cfpAligned: ${tmp}/cfp-aligned }
diffusion: { model: shipped }
label: { repeats: 1, batchSize: 4 }
protocol: { trainFolds: [1, 2], testFolds: [3, 4], cfpFolds: [1, 2], sets: [lfw, xq-lfw, cfp-fp, cfp-ff] }
regressors:
  - { name: eDifFIQA, model: 'shipped:ediffiqa' }
  - { name: DifFIQA(R), model: 'shipped:diffiqa-r' }
eval:
  fr: [mobileface]
  threshold: [fixed, recompute]
  serFiq: { passes: 4 }
  bootstrap: { samples: 30, seed: 5 }
publish: ${published}
`,
  );
}, 60_000);

/** Runs `eval` through yargs, as main.ts would. */
async function runEvalCli(argv: string[]): Promise<void> {
  await yargs(argv)
    .command(makeEvalCommand({ log: () => undefined }))
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
}

describe('experiment with trained models, published results', () => {
  it('labels and scores with the given models, reads CFP from the aligned crops, and evaluates every method', async () => {
    const result = await runExperiment({ configFile, quiet: true, log: () => undefined });
    const stages = JSON.parse(fs.readFileSync(path.join(out, 'stages.json'), 'utf8')).stages.map((s: { name: string }) => s.name);
    expect(stages).toEqual(['cross-quality', 'label', 'score eDifFIQA', 'score DifFIQA(R)', 'score SER-FIQ']);
    // The CFP labels are of the aligned crops (paths relative to data.cfpAligned).
    const cfpLabels = readResults(path.join(out, 'labels', 'cfp.csv')).map((r) => r.path);
    expect(cfpLabels.length).toBeGreaterThan(0);
    expect(cfpLabels.every((p) => /^\d{3}\/(frontal|profile)\/\d+\.png$/.test(p))).toBe(true);
    const methods = new Set(result.results.map((r) => r.method));
    expect([...methods]).toEqual(['DifFIQA', 'eDifFIQA', 'DifFIQA(R)', 'SER-FIQ', 'random', 'sharpness', 'embedding-norm']);
    expect(new Set(result.results.map((r) => r.dataset))).toEqual(new Set(['lfw', 'xq-lfw', 'cfp-fp', 'cfp-ff']));
    expect(new Set(result.results.map((r) => r.thresholdMode))).toEqual(new Set(['fixed', 'recompute']));
    // Every defined normalised pAUC has an interval.
    for (const r of result.results) {
      for (const p of r.paucs) if (Number.isFinite(p.paucNorm)) expect(p.ci?.samples, `${r.method} ${r.dataset}`).toBeGreaterThan(0);
    }
    // The shipped regressors are correlated with the labels on every set (the correlation table covers them).
    expect(result.correlations.filter((c) => c.method === 'eDifFIQA').map((c) => c.dataset)).toEqual(['lfw', 'xq-lfw', 'cfp-fp', 'cfp-ff']);
  }, 600_000);

  it('publishes a folder from which diffiqa eval recomputes the same pauc.md and summary.json', async () => {
    for (const f of ['summary.json', 'pauc.md', 'edc.csv', 'README.md', 'rank-correlation.json', 'comparisons/cfp-ff__mobileface.csv', 'qualities/diffiqa-r.csv', 'qualities/ser-fiq.csv', 'qualities/embedding-norm__mobileface.csv']) {
      expect(fs.existsSync(path.join(published, f)), f).toBe(true);
    }
    expect(fs.readdirSync(published).some((f) => /^edc_.*\.png$/.test(f))).toBe(true);
    const summary = JSON.parse(fs.readFileSync(path.join(published, 'summary.json'), 'utf8')) as unknown[];
    expect(summary).toEqual(JSON.parse(fs.readFileSync(path.join(out, 'report', 'summary.json'), 'utf8')));
    // The README's command, word for word, with another output folder.
    const readme = fs.readFileSync(path.join(published, 'README.md'), 'utf8');
    const command = /```sh\n(npx diffiqa .*)\n```/.exec(readme)?.[1];
    expect(command).toBeDefined();
    const argv = shellWords(command as string).slice(2);
    const regenerated = path.join(tmp, 'regenerated');
    argv[argv.indexOf('--out') + 1] = regenerated;
    await runEvalCli(argv);
    for (const f of ['pauc.md', 'summary.json']) expect(fs.readFileSync(path.join(regenerated, f), 'utf8'), f).toBe(fs.readFileSync(path.join(published, f), 'utf8'));
  }, 120_000);

  it('refuses a regressor with both or neither of config and model, and a missing diffusion config', () => {
    const bad = (text: string): string => {
      const file = path.join(tmp, `bad-${Math.random().toString(36).slice(2)}.yaml`);
      fs.writeFileSync(file, text);
      return file;
    };
    const base = `out: ${out}\ndata: { lfw: ${tmp}/lfw, cfp: ${tmp}/cfp }\n`;
    expect(() => loadExperimentConfig(bad(`${base}diffusion: { model: shipped }\nregressors: [{ name: X }]\n`))).toThrow(/regressors\[0\].*either config/);
    expect(() => loadExperimentConfig(bad(`${base}diffusion: { model: shipped }\nregressors: [{ name: X, config: a.yaml, model: b }]\n`))).toThrow(ConfigError);
    expect(() => loadExperimentConfig(bad(`${base}diffusion: { data: x }\nregressors: []\n`))).toThrow(/diffusion\.config/);
    expect(() => loadExperimentConfig(bad(`${base}diffusion: { config: c.yaml }\nregressors: []\n`))).toThrow(/no dataset location: set diffusion\.data/);
  });
});

/** The words of a POSIX shell command line with single-quoted words (as the README writes them). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : (m[2] as string)));
}
