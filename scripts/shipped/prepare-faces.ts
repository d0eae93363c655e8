/**
 * Builds the training faces of the shipped models (src/experiment/training-split.ts) under one folder that the
 * diffusion trainer and the labeller read:
 *   <out>/lfw/images/<Name>/<Name>_NNNN.jpg   links to the aligned LFW images of pair folds 1-5;
 *   <out>/cfp/<id>/<pose>/NN.png              CFP folds 1-5 identities, aligned by `diffiqa align`'s detector
 *                                             and 68-point landmarks to the ArcFace 112x112 template.
 * CFP photos without a detected face (mostly profiles) are skipped and recorded in <out>/cfp-align.jsonl with
 * the rest. Resumable: existing outputs are kept, so a rerun only does what is missing. Nothing is copied into
 * the repository: <out> defaults to runs/shipped/faces (git-ignored).
 *
 *   node --import tsx scripts/shipped/prepare-faces.ts [--folds train|eval] [--out runs/shipped/faces] [--shared ../shared/data] [--only lfw|cfp]
 *
 * `--only lfw` links the LFW faces alone (instant), so diffusion training can start while CFP is aligned later.
 * `--folds eval` builds the evaluation faces instead (LFW pair folds 6-10, CFP folds 6-10 identities) under
 * runs/shipped/eval-faces: they are only labelled and scored to report, never trained on (issue 13's protocol).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeBackend, initBackend } from '../../src/backend/index.js';
import { writeImage } from '../../src/data/image-io.js';
import { EVALUATION_FOLDS, TRAINING_FOLDS, cfpAlignedPath, cfpFoldImages, lfwFoldImages } from '../../src/experiment/training-split.js';
import { alignFile, loadAligner } from '../../src/fr/align.js';
import { appendLinesDurable, ensureDir } from '../../src/util/atomic.js';
import { describeError } from '../../src/util/errors.js';
import { Progress } from '../../src/util/progress.js';
import { arg } from '../../bench/args.js';

const split = arg('folds', 'train');
if (split !== 'train' && split !== 'eval') throw new Error(`--folds must be train or eval, not '${split}'`);
const folds = split === 'train' ? TRAINING_FOLDS : EVALUATION_FOLDS;
const out = path.resolve(arg('out', split === 'train' ? 'runs/shipped/faces' : 'runs/shipped/eval-faces'));
const shared = path.resolve(arg('shared', path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data')));
const lfwRoot = path.join(shared, 'lfw-112');
const cfpRoot = path.join(shared, 'cfp');
const only = arg('only', 'all');
if (!['all', 'lfw', 'cfp'].includes(only)) throw new Error(`--only must be lfw or cfp, not '${only}'`);

function linkLfw(): number {
  const keys = lfwFoldImages(lfwRoot, folds);
  for (const key of keys) {
    const target = path.join(out, 'lfw', key);
    if (fs.existsSync(target)) continue;
    ensureDir(path.dirname(target));
    fs.symlinkSync(path.join(lfwRoot, key), target);
  }
  return keys.length;
}

async function alignCfp(): Promise<{ ok: number; skipped: number }> {
  const keys = cfpFoldImages(cfpRoot, folds);
  const records = path.join(out, 'cfp-align.jsonl');
  const done = new Map<string, string>();
  if (fs.existsSync(records)) {
    for (const line of fs.readFileSync(records, 'utf8').split('\n')) {
      if (line.trim()) {
        const r = JSON.parse(line) as { key: string; status: string };
        done.set(r.key, r.status);
      }
    }
  }
  const aligner = loadAligner();
  const bar = new Progress('align CFP', keys.length, { unit: 'img' });
  try {
    for (const key of keys) {
      bar.tick();
      if (done.has(key)) continue;
      const target = path.join(out, 'cfp', cfpAlignedPath(key));
      let rec: Record<string, unknown>;
      try {
        const { record, crop } = await alignFile(path.join(cfpRoot, key), aligner);
        rec = { key, ...record };
        if (crop) {
          ensureDir(path.dirname(target));
          await writeImage(target, crop);
          rec.output = path.relative(out, target);
        }
      } catch (err) {
        rec = { key, status: 'error', error: describeError(err) };
      }
      appendLinesDurable(records, [JSON.stringify(rec)]);
      done.set(key, String(rec.status));
    }
  } finally {
    bar.done();
    aligner.dispose();
  }
  const ok = [...done.values()].filter((s) => s === 'ok').length;
  return { ok, skipped: done.size - ok };
}

await initBackend();
process.stderr.write(`${describeBackend()}\n`);
const lfw = only === 'cfp' ? 0 : linkLfw();
const cfp = only === 'lfw' ? { ok: 0, skipped: 0 } : await alignCfp();
process.stderr.write(`prepare-faces: ${lfw} LFW images linked, ${cfp.ok} CFP faces aligned, ${cfp.skipped} CFP photos skipped (see cfp-align.jsonl) -> ${out}\n`);
