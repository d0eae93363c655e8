/**
 * The fallback of prepare-faces.ts for the CFP photos the detector missed: every CFP photo of the chosen folds whose last
 * record in <out>/cfp-align.jsonl is not 'ok' is aligned from CFP's hand-checked fiducials (src/fr/fiducials.ts,
 * template configs/fr/cfp-fiducial-template.json) to <out>/cfp/<id>/<pose>/NN.png, the path prepare-faces uses,
 * and gets a new record {status: 'ok', method: 'fiducials', replaces: <old status>, ...}. The last record of a
 * key is the one that counts.
 *
 *   node --import tsx scripts/shipped/align-cfp-fiducials.ts [--folds train|eval] [--out runs/shipped/faces]
 *     [--shared ../shared/data] [--template configs/fr/cfp-fiducial-template.json] [--limit N]
 *
 * `--folds eval` does the same for the evaluation identities (CFP folds 6-10) under runs/shipped/eval-faces, after
 * `prepare-faces.ts --folds eval`.
 *
 * Run it after prepare-faces.ts has finished: photos without any record yet are left to the detector (a record
 * here would make prepare-faces skip them). Resumable: a photo whose last record is 'ok' is done; each crop is
 * written atomically before its record is appended, so a killed run redoes at most the photo it was on.
 * `--limit N` stops after N photos (a trial run on a copy of the record file). `--all` aligns every photo of the folds
 * from its fiducials, with or without a detector record (into a folder of its own, e.g. --out runs/shipped/faces-fiducials,
 * to compare the two alignments by verification accuracy: README "Results").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeImage } from '../../src/data/image-io.js';
import { EVALUATION_FOLDS, TRAINING_FOLDS, cfpAlignedPath, cfpFoldImages } from '../../src/experiment/training-split.js';
import { alignWithFiducials, defaultFiducialTemplatePath, loadCfpFace, loadFiducialTemplate } from '../../src/fr/fiducials.js';
import { appendLinesDurable, writeFileAtomic } from '../../src/util/atomic.js';
import { DataError, describeError } from '../../src/util/errors.js';
import { Progress } from '../../src/util/progress.js';
import { arg } from '../../bench/args.js';

const split = arg('folds', 'train');
if (split !== 'train' && split !== 'eval') throw new Error(`--folds must be train or eval, not '${split}'`);
const folds = split === 'train' ? TRAINING_FOLDS : EVALUATION_FOLDS;
const foldNames = split === 'train' ? 'folds 1-5' : 'folds 6-10';
const out = path.resolve(arg('out', split === 'train' ? 'runs/shipped/faces' : 'runs/shipped/eval-faces'));
const shared = path.resolve(arg('shared', path.join(import.meta.dirname, '..', '..', '..', 'shared', 'data')));
const cfpRoot = path.join(shared, 'cfp');
const templateFile = path.resolve(arg('template', defaultFiducialTemplatePath()));
const limit = Number(arg('limit', 'Infinity'));
if (!(limit > 0)) throw new Error(`--limit must be a positive number, not '${arg('limit', '')}'`);

/** The last status per key in the record file (a later line supersedes an earlier one). */
function lastStatus(file: string, all: boolean): Map<string, string> {
  if (all && !fs.existsSync(file)) return new Map();
  if (!fs.existsSync(file)) throw new DataError(file, 'no record file: run scripts/shipped/prepare-faces.ts --only cfp first');
  const status = new Map<string, string>();
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: { key?: unknown; status?: unknown };
    try {
      r = JSON.parse(line) as { key?: unknown; status?: unknown };
    } catch {
      throw new DataError(file, `line ${i + 1} is not JSON`);
    }
    if (typeof r.key !== 'string' || typeof r.status !== 'string') throw new DataError(file, `line ${i + 1} has no key/status`);
    status.set(r.key, r.status);
  });
  return status;
}

/** Aligns one photo from its fiducials and writes the crop; returns its record. */
async function alignOne(key: string, replaces: string, template: ReturnType<typeof loadFiducialTemplate>): Promise<Record<string, unknown>> {
  const target = path.join(out, 'cfp', cfpAlignedPath(key));
  const { img, points, pose } = await loadCfpFace(cfpRoot, key);
  const fit = alignWithFiducials(img, points, pose, template);
  writeFileAtomic(target, await encodeImage(fit.crop, { format: 'png' }));
  return {
    key, status: 'ok', method: 'fiducials', replaces, pose, mirrored: fit.mirrored,
    transform: fit.transform, residual: fit.residual, output: path.relative(out, target),
  };
}

const records = path.join(out, 'cfp-align.jsonl');
const all = process.argv.includes('--all');
const status = lastStatus(records, all);
const template = loadFiducialTemplate(templateFile);
const keys = cfpFoldImages(cfpRoot, folds);
const pending = keys.filter((k) => (all || status.has(k)) && status.get(k) !== 'ok').slice(0, limit);
const unseen = all ? 0 : keys.filter((k) => !status.has(k)).length;
const bar = new Progress('align CFP (fiducials)', pending.length, { unit: 'img' });
let ok = 0;
let failed = 0;
for (const key of pending) {
  bar.tick();
  let rec: Record<string, unknown>;
  try {
    rec = await alignOne(key, status.get(key) ?? 'none', template);
    ok++;
  } catch (err) {
    rec = { key, status: 'error', method: 'fiducials', error: describeError(err) };
    failed++;
  }
  appendLinesDurable(records, [JSON.stringify(rec)]);
}
bar.done();
const okNow = keys.filter((k) => status.get(k) === 'ok').length + ok;
process.stderr.write(
  `align-cfp-fiducials: ${ok} aligned from fiducials, ${failed} failed (records say why), ${unseen} photos without a detector record left alone; ` +
  `${okNow}/${keys.length} CFP ${foldNames} photos now 'ok' -> ${records}\n`,
);
