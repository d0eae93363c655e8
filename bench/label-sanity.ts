/**
 * Labeller sanity check (issue: "label 200 LFW faces and the same faces degraded at 4 increasing severities"):
 * picks `--faces` LFW images of the evaluation folds 6-10 (a seeded choice, one per identity), writes each one's 5-rung quality ladder
 * (rung 0 = the face, rungs 1-4 = fixed, increasing blur + down/up-sampling + noise + JPEG; src/data/quality-ladder.ts),
 * labels every rung with the DifFIQA labeller (t* 5, N 10, the labeller's default FR model faceres unless --fr) and a trained diffusion run, and prints
 * Spearman(severity, score) over all images (expected clearly negative), the mean score per rung and images/s.
 * Resumable: the ladder is rewritten identically and labelled images are skipped on a rerun.
 *
 *   node --import tsx bench/label-sanity.ts [--diffusion RUN_OR_FILE (default: the shipped model)] [--ema] [--faces 200] [--repeats 10] [--folds eval|train] [--fr faceres|mobileface|dlib|...] [--out runs/label-sanity]
 *   node --import tsx bench/label-sanity.ts --summary-only [--repeats 10] [--out runs/label-sanity]
 *   node --import tsx bench/label-sanity.ts --regressor [FILE (default: the shipped eDifFIQA)] [--faces 200] [--folds eval|train] [--out ...]
 *
 * With --regressor the same ladders are scored by a quality regressor instead of labelled (seconds, not hours), and
 * the same statistics are printed for its `quality` column (issue 13: the shipped eDifFIQA ranks the rungs).
 *
 * Besides the pooled Spearman it prints the within-face one (mean over faces of Spearman(rung, term) over the
 * face's own five rungs), which isolates the damage from the differences between faces.
 * --summary-only prints the statistics of the rows labelled so far (for example while a run is still going: the
 * labeller works through the faces in path order, so the finished rows are whole ladders plus at most one partial).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shippedModelPath } from '../src/models/shipped.js';
import { describeBackend, initBackend } from '../src/backend/index.js';
import { LADDER, writeLadder } from '../src/data/quality-ladder.js';
import { loadDiffusion } from '../src/diffusion/load.js';
import { cosineSchedule } from '../src/diffusion/schedule.js';
import { EVALUATION_FOLDS, TRAINING_FOLDS, lfwFoldImages } from '../src/experiment/training-split.js';
import { spearman } from '../src/eval/rank-correlation.js';
import { DEFAULT_LABEL_FR_MODEL, loadFrModel } from '../src/fr/registry.js';
import { LABEL_COLUMNS } from '../src/pipelines/label.js';
import { runLabeller } from '../src/pipelines/label-run.js';
import { scoreFiles } from '../src/pipelines/score.js';
import { readResults } from '../src/pipelines/records.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './args.js';

const LFW = path.join(import.meta.dirname, '..', '..', 'shared', 'data', 'lfw-112');

/**
 * One image per identity of the LFW evaluation folds 6-10 (never trained on), `n` identities by a seeded shuffle;
 * with `--folds train`, of the training folds 1-5 instead, where settings (checkpoint, raw or EMA weights, FR model,
 * N) are chosen so that the evaluation folds only report (issue 13's protocol). Those faces are in the shipped
 * diffusion model's training set, clean; their ladders' damage is new to it.
 */
function pickFaces(n: number, folds: readonly number[]): string[] {
  const byIdentity = new Map<string, string>();
  for (const key of lfwFoldImages(LFW, folds)) {
    const id = path.basename(path.dirname(key));
    if (!byIdentity.has(id)) byIdentity.set(id, path.join(LFW, key));
  }
  return new Rng('label-sanity').shuffle([...byIdentity.values()]).slice(0, n).sort();
}

async function main(): Promise<void> {
  if (!fs.existsSync(LFW)) {
    console.log(`label-sanity: ${LFW} is missing; nothing to measure`);
    return;
  }
  const out = arg('out', 'runs/label-sanity');
  if (process.argv.includes('--regressor')) {
    const scores = path.join(out, 'regressor-scores.csv');
    await scoreLadders(out, scores);
    summarise(scores, ['quality']);
    return;
  }
  const repeats = Number(arg('repeats', '10'));
  const labels = path.join(out, `labels-n${repeats}.csv`);
  if (!process.argv.includes('--summary-only')) await labelLadders(out, repeats, labels);
  summarise(labels, LABEL_COLUMNS);
}

/** The ladder faces of the --folds/--faces options. */
function chosenFaces(): { faces: string[]; folds: string } {
  const folds = arg('folds', 'eval');
  if (folds !== 'eval' && folds !== 'train') throw new Error(`--folds must be eval or train, not '${folds}'`);
  return { faces: pickFaces(Number(arg('faces', '200')), folds === 'eval' ? EVALUATION_FOLDS : TRAINING_FOLDS), folds };
}

/** Scores every rung with a regressor (`--regressor FILE`, or the shipped eDifFIQA); rewrites the scores. */
async function scoreLadders(out: string, scores: string): Promise<void> {
  await initBackend();
  const value = arg('regressor', '');
  const model = value && !value.startsWith('--') ? value : undefined;
  const { faces, folds } = chosenFaces();
  console.log(`${describeBackend()}; ${faces.length} faces (LFW ${folds} folds) x ${LADDER.length} rungs, regressor ${model ?? 'shipped eDifFIQA'}`);
  await writeLadder(faces, path.join(out, 'ladder'));
  fs.rmSync(scores, { force: true });
  const s = await scoreFiles(path.join(out, 'ladder'), { model, out: scores, quiet: true });
  if (s.failed > 0) throw new Error(`${s.failed} ladder images failed to score (see ${scores}.errors.jsonl)`);
}

async function labelLadders(out: string, repeats: number, labels: string): Promise<void> {
  await initBackend();
  const runDir = arg('diffusion', '') || shippedModelPath('diffusion');
  const { faces, folds } = chosenFaces();
  const ema = process.argv.includes('--ema');
  const frName = arg('fr', DEFAULT_LABEL_FR_MODEL);
  console.log(`${describeBackend()}; ${faces.length} faces (LFW ${folds} folds) x ${LADDER.length} rungs, t* 5, N ${repeats}, FR ${frName}, diffusion ${runDir} (${ema ? 'EMA' : 'raw'} weights)`);
  await writeLadder(faces, path.join(out, 'ladder'));
  const diffusion = loadDiffusion(runDir, { ema });
  const fr = await loadFrModel(frName);
  const summary = await runLabeller(diffusion, cosineSchedule(1000), fr, {
    data: path.join(out, 'ladder'),
    out: labels,
    tStar: 5,
    repeats,
    seed: 0,
    batchSize: Number(arg('batch', '2')),
    imageSize: diffusion.unet.config.imageSize,
  });
  diffusion.dispose();
  fr.dispose();
  console.log(`labelled ${summary.labelled} images in ${summary.seconds.toFixed(0)} s: ${(summary.labelled / summary.seconds).toFixed(3)} images/s (${summary.skippedDone} done earlier, ${summary.failed} failed)`);
}

/**
 * Mean over faces with a whole ladder of Spearman(rung, column) within the face, and the share of faces where it
 * is negative. The pooled Spearman mixes faces, whose scores differ more than one rung moves them; within a face
 * only the damage changes.
 */
function withinFace(rows: readonly { face: string; rung: number; values: Record<string, unknown> }[], column: string): { mean: number; negative: number } {
  const ladders = new Map<string, number[]>();
  for (const r of rows) {
    const l = ladders.get(r.face) ?? ladders.set(r.face, new Array<number>(LADDER.length).fill(NaN)).get(r.face)!;
    l[r.rung] = r.values[column] as number;
  }
  const rhos = [...ladders.values()].filter((l) => l.every(Number.isFinite)).map((l) => spearman(l.map((_, k) => k), l));
  return { mean: rhos.reduce((a, b) => a + b, 0) / rhos.length, negative: rhos.filter((r) => r < 0).length / rhos.length };
}

/**
 * Spearman(severity, score), the mean score per rung and per term, over the rows of `labels`; the first of
 * `columns` is the score (the label's `score`, or a regressor's `quality`).
 */
function summarise(labels: string, columns: readonly string[]): void {
  const main = columns[0] as string;
  const rows = readResults(labels).map((r) => ({
    face: path.dirname(r.path),
    rung: Number(/rung(\d)\.png$/.exec(r.path)?.[1]),
    score: r.values[main] as number,
    values: r.values,
  }));
  const rho = spearman(rows.map((r) => r.rung), rows.map((r) => r.score));
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(4);
  console.log(`rung  images  ${columns.join('  ')}`);
  for (let k = 0; k < LADDER.length; k++) {
    const at = rows.filter((r) => r.rung === k);
    console.log(`${k}     ${at.length}  ${columns.map((c) => mean(at.map((r) => r.values[c] as number))).join('  ')}`);
  }
  const perTerm = columns.map((c) => `${c} ${spearman(rows.map((r) => r.rung), rows.map((r) => r.values[c] as number)).toFixed(3)}`);
  console.log(`Spearman(severity, term): ${perTerm.join(', ')}`);
  const faces = columns.map((c) => {
    const w = withinFace(rows, c);
    return `${c} ${w.mean.toFixed(3)} (${(100 * w.negative).toFixed(0)}% < 0)`;
  });
  console.log(`within-face Spearman(severity, term), mean over faces: ${faces.join(', ')}`);
  console.log(`Spearman(severity, ${main}) over ${rows.length} images: ${rho.toFixed(3)}`);
}

await main();
