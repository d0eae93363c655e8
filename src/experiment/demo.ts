/**
 * The main job (`npm start`, `diffiqa demo`): the whole method end to end on a handful of photos, on two CPU cores
 * in a few minutes. Photos (by default the ones that ship with @vladmandic/face-api) are searched for faces, every
 * face is aligned to the ArcFace template and expanded into a quality ladder, a tiny diffusion model is trained
 * briefly (to show training), every image is labelled with the DifFIQA labeller and the shipped diffusion model
 * (models/diffusion.md: a few minutes of training cannot make a model that labels well), a tiny DifFIQA(R)
 * regressor is distilled from the labels, every image is scored with it and with the shipped eDifFIQA model
 * (models/ediffiqa.md), and a self-contained HTML report is written.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describeBackend } from '../backend/index.js';
import { listImageFiles } from '../data/files.js';
import { decodeImage, writeImage } from '../data/image-io.js';
import { LADDER, writeLadder } from '../data/quality-ladder.js';
import { loadDiffusionConfig } from '../diffusion/config.js';
import { loadDiffusion } from '../diffusion/load.js';
import { createSchedule } from '../diffusion/schedule.js';
import { spearman } from '../eval/rank-correlation.js';
import { alignFace, loadAligner } from '../fr/align.js';
import { DEFAULT_LABEL_FR_MODEL, loadFrModel } from '../fr/registry.js';
import { runLabeller } from '../pipelines/label-run.js';
import { readErrors, readResults } from '../pipelines/records.js';
import { scoreFiles } from '../pipelines/score.js';
import { loadRegressorConfig } from '../regressor/config.js';
import { loadReportFaces, readMetricsCurves, writeReport, type ReportData } from '../report/index.js';
import { trainDiffusion } from '../train/train-diffusion.js';
import { trainRegressor } from '../train/train-regressor.js';
import { ensureDir } from '../util/atomic.js';
import { DataError, describeError } from '../util/errors.js';
import { PACKAGE_ROOT } from './package-root.js';
import { shippedModelPath } from '../models/shipped.js';

/** Options of the demo. */
export interface DemoOptions {
  /** Folder of photos; default the sample photos of @vladmandic/face-api. */
  data?: string;
  /** Output folder (faces, runs, labels, scores, report). */
  out: string;
  /** Diffusion training steps (default: configs/demo/diffusion.yaml). */
  diffusionSteps?: number;
  /** Labeller repeats N (the paper uses 10; the demo default 2 keeps it within minutes on two cores). */
  repeats?: number;
  /** Faces smaller than this (box side, px) are ignored. */
  minFace?: number;
  /** At most this many faces (default 12: 60 ladder images). */
  maxFaces?: number;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** What the demo produced. */
export interface DemoResult {
  report: string;
  faces: number;
  images: number;
  seconds: number;
  /** Spearman ρ between ladder rung (damage) and the diffusion label / the regressor score. */
  rhoLabel: number;
  rhoScore: number;
  /** Spearman ρ between ladder rung and the shipped eDifFIQA model's score. */
  rhoShipped: number;
}

/** The sample photos that ship with @vladmandic/face-api (demo/sample1..6.jpg). */
export function samplePhotos(): string[] {
  const pkg = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
  const dir = path.join(path.dirname(pkg), 'demo');
  return fs.readdirSync(dir).filter((f) => /^sample\d+\.jpg$/.test(f)).sort().map((f) => path.join(dir, f));
}

interface Stage {
  name: string;
  seconds: number;
}

/** Runs the demo; see the file comment. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const t0 = Date.now();
  const stages: Stage[] = [];
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    log(`diffiqa demo: [${stages.length + 1}/8] ${name}`);
    const s0 = Date.now();
    const out = await fn();
    stages.push({ name, seconds: (Date.now() - s0) / 1000 });
    return out;
  };
  const dirs = {
    faces: path.join(opts.out, 'faces'),
    ladder: path.join(opts.out, 'ladder'),
    diffusion: path.join(opts.out, 'diffusion'),
    regressor: path.join(opts.out, 'regressor'),
  };
  const photos = opts.data ? listImageFiles(opts.data) : samplePhotos();
  log(
    `diffiqa demo: ${photos.length} photos -> detect and align faces -> ${LADDER.length}-rung quality ladder -> ` +
      `train a tiny diffusion model -> DifFIQA labels (shipped diffusion model) -> distil a DifFIQA(R) regressor -> score (it and the shipped eDifFIQA) -> HTML report in ${opts.out}`,
  );
  const skipped: { path: string; reason: string }[] = [];
  const faces = await stage('detecting and aligning faces', () => alignAll(photos, dirs.faces, opts, skipped));
  if (faces.length === 0) throw new DataError(opts.data ?? 'the sample photos', 'no face found in any photo');
  await stage(`building the quality ladder (${faces.length} faces x ${LADDER.length} rungs)`, () => writeLadder(faces, dirs.ladder));

  const diffusionConfig = loadDiffusionConfig(path.join(PACKAGE_ROOT, 'configs/demo/diffusion.yaml'), {
    data: { folder: dirs.faces },
    train: opts.diffusionSteps ? { steps: opts.diffusionSteps, checkpointEvery: opts.diffusionSteps, sampleEvery: opts.diffusionSteps } : {},
  });
  const diffusionRun = await stage(`training a tiny diffusion model (${diffusionConfig.train.steps} steps)`, () =>
    trainDiffusion(diffusionConfig, { runDir: dirs.diffusion, resume: fs.existsSync(path.join(dirs.diffusion, 'latest.json')), quiet: opts.quiet }),
  );

  const labels = path.join(opts.out, 'labels.csv');
  await stage('labelling every image with the DifFIQA labeller and the shipped diffusion model', async () => {
    const diffusion = loadDiffusion(shippedModelPath('diffusion'));
    const fr = await loadFrModel(DEFAULT_LABEL_FR_MODEL);
    try {
      // The shipped model was trained with the same schedule as the demo's (cosine, 1000 steps: paper.yaml).
      const schedule = createSchedule(diffusionConfig.diffusion.schedule, diffusionConfig.diffusion.timesteps);
      return await runLabeller(diffusion, schedule, fr, {
        data: dirs.ladder,
        out: labels,
        tStar: 5,
        repeats: opts.repeats ?? 2,
        seed: 0,
        batchSize: 4,
        imageSize: diffusion.unet.config.imageSize,
        quiet: opts.quiet,
      });
    } finally {
      diffusion.dispose();
      fr.dispose();
    }
  });

  const regressorConfig = loadRegressorConfig(path.join(PACKAGE_ROOT, 'configs/demo/regressor.yaml'));
  const regressor = await stage('distilling a DifFIQA(R) regressor (mobileface backbone)', () =>
    trainRegressor({ config: regressorConfig, labels, data: dirs.ladder, runDir: dirs.regressor, quiet: opts.quiet, resume: fs.existsSync(path.join(dirs.regressor, 'latest.json')) }),
  );
  const scores = path.join(opts.out, 'scores.csv');
  await stage('scoring every image with the regressor', () =>
    scoreFiles(dirs.ladder, { model: regressor.bestFile ?? dirs.regressor, out: scores, quiet: opts.quiet }),
  );

  const shippedScores = path.join(opts.out, 'scores-ediffiqa.csv');
  await stage('scoring every image with the shipped eDifFIQA model', () => scoreFiles(dirs.ladder, { out: shippedScores, quiet: opts.quiet }));

  const joined = joinResults(labels, scores, shippedScores, dirs.ladder);
  const rhoLabel = spearman(joined.map((r) => r.rung), joined.map((r) => r.label));
  const rhoScore = spearman(joined.map((r) => r.rung), joined.map((r) => r.score));
  const rhoShipped = spearman(joined.map((r) => r.rung), joined.map((r) => r.shipped));
  const report = path.join(opts.out, 'report.html');
  const data = await buildDemoReport({ joined, dirs, labels, skipped, stages, rhoLabel, rhoScore, rhoShipped, restoreMse: diffusionRun.restoreMse, photos: photos.length, faces: faces.length });
  writeReport(report, data);
  const seconds = (Date.now() - t0) / 1000;
  log(
    `diffiqa demo: done in ${seconds.toFixed(0)} s. Spearman(damage, label) = ${rhoLabel.toFixed(3)}, Spearman(damage, regressor) = ${rhoScore.toFixed(3)}, ` +
      `Spearman(damage, shipped eDifFIQA) = ${rhoShipped.toFixed(3)}`,
  );
  log(`diffiqa demo: report: ${path.resolve(report)}`);
  return { report, faces: faces.length, images: joined.length, seconds, rhoLabel, rhoScore, rhoShipped };
}

/** Detects every face (not only the largest) in every photo and writes the aligned crops as PNG. */
async function alignAll(photos: readonly string[], outDir: string, opts: DemoOptions, skipped: { path: string; reason: string }[]): Promise<string[]> {
  ensureDir(outDir);
  const aligner = loadAligner();
  const written: string[] = [];
  try {
    for (const photo of photos) {
      try {
        const img = await decodeImage(photo, { size: 'native', maxSide: 1024 });
        const boxes = aligner.detector.detect(img).filter((b) => Math.min(b.width, b.height) >= (opts.minFace ?? 40));
        if (boxes.length === 0) skipped.push({ path: photo, reason: 'no face found' });
        for (const [k, box] of boxes.entries()) {
          if (written.length >= (opts.maxFaces ?? 12)) break;
          const file = path.join(outDir, `${path.basename(photo, path.extname(photo))}-face${k + 1}.png`);
          await writeImage(file, alignFace(img, box, aligner.landmarks).crop);
          written.push(file);
        }
      } catch (err) {
        skipped.push({ path: photo, reason: describeError(err) });
      }
    }
  } finally {
    aligner.dispose();
  }
  return written;
}

interface JoinedRow {
  path: string;
  rung: number;
  label: number;
  /** The demo's distilled regressor. */
  score: number;
  /** The shipped eDifFIQA model. */
  shipped: number;
}

/** Labels (dataset-relative keys) joined by image with the two score files (absolute paths). */
function joinResults(labels: string, scores: string, shippedScores: string, ladderDir: string): JoinedRow[] {
  const keyed = (file: string): Map<string, number> =>
    new Map(readResults(file).map((r) => [path.relative(ladderDir, r.path).split(path.sep).join('/'), r.values.quality as number]));
  const score = keyed(scores);
  const shipped = keyed(shippedScores);
  return readResults(labels)
    .filter((r) => score.has(r.path) && shipped.has(r.path))
    .map((r) => ({
      path: r.path,
      rung: Number(/rung(\d+)/.exec(r.path)?.[1] ?? NaN),
      label: r.values.score as number,
      score: score.get(r.path) as number,
      shipped: shipped.get(r.path) as number,
    }));
}

interface DemoReportInput {
  joined: JoinedRow[];
  dirs: { ladder: string; diffusion: string; regressor: string };
  labels: string;
  skipped: { path: string; reason: string }[];
  stages: Stage[];
  rhoLabel: number;
  rhoScore: number;
  rhoShipped: number;
  restoreMse?: { before: number; after: number };
  photos: number;
  faces: number;
}

async function buildDemoReport(r: DemoReportInput): Promise<ReportData> {
  const rows = r.joined.map((j) => ({ path: j.path, values: { regressor: j.score, ediffiqa: j.shipped, diffiqa: j.label, damage: j.rung } }));
  const { faces, skipped } = await loadReportFaces(rows, { root: r.dirs.ladder, primaryScore: 'regressor' });
  const perRung = LADDER.map((_, k) => {
    const at = r.joined.filter((j) => j.rung === k);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    return [k, at.length, mean(at.map((j) => j.label)), mean(at.map((j) => j.score)), mean(at.map((j) => j.shipped))];
  });
  const samplesDir = path.join(r.dirs.diffusion, 'samples');
  const grids = fs.existsSync(samplesDir) ? fs.readdirSync(samplesDir).filter((f) => f.endsWith('.png')).sort() : [];
  return {
    title: 'diffiqa demo',
    generatedAt: new Date(),
    facts: [
      { label: 'backend', value: describeBackend().replace(/^diffiqa: /, '') },
      { label: 'photos / faces / images', value: `${r.photos} / ${r.faces} / ${r.joined.length}` },
      { label: 'Spearman(damage rung, DifFIQA label)', value: r.rhoLabel.toFixed(3) },
      { label: 'Spearman(damage rung, regressor score)', value: r.rhoScore.toFixed(3) },
      { label: 'Spearman(damage rung, shipped eDifFIQA score)', value: r.rhoShipped.toFixed(3) },
      ...(r.restoreMse ? [{ label: 'held-out restoration MSE before -> after training', value: `${r.restoreMse.before.toFixed(4)} -> ${r.restoreMse.after.toFixed(4)}` }] : []),
      ...r.stages.map((s) => ({ label: `time: ${s.name}`, value: `${s.seconds.toFixed(1)} s` })),
    ],
    faces,
    primaryScore: 'regressor',
    restorations: grids.map((f) => ({ caption: `diffusion/samples/${f} (rows: degraded, restored, original)`, png: fs.readFileSync(path.join(samplesDir, f)) })),
    curves: [
      ...readMetricsCurves(path.join(r.dirs.diffusion, 'metrics.jsonl')).map((c) => ({ ...c, title: `diffusion: ${c.title}` })),
      ...readMetricsCurves(path.join(r.dirs.regressor, 'metrics.jsonl')).map((c) => ({ ...c, title: `regressor: ${c.title}` })),
    ],
    tables: [{ title: 'Mean quality per damage rung (0 = aligned original)', columns: ['rung', 'images', 'DifFIQA label', 'regressor score', 'shipped eDifFIQA score'], rows: perRung }],
    skipped: [...r.skipped, ...readErrors(r.labels).map((e) => ({ path: e.path, reason: e.error })), ...skipped],
    notes: [
      'The tiny diffusion model is trained for a few dozen steps to show training; the labels come from the shipped diffusion model ' +
        '(models/diffusion.md) at N = 2 labeller repeats (the paper uses 10). The regressor is distilled from these few labels in a few epochs; ' +
        'the shipped eDifFIQA model (models/ediffiqa.md) was distilled from 7,311 labelled LFW and CFP faces and never saw these photos.',
    ],
  };
}
