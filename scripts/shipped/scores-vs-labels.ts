/**
 * How well a regressor's scores track the DifFIQA labels of the same images (issue 13's regressor targets):
 * joins a `diffiqa score` output with a `diffiqa label` output by image and prints Spearman(score, label).
 * Score paths are as scored (for example runs/shipped/eval-faces/lfw/images/...); label paths are relative to the
 * labelled folder, given as --root, so the join key is the score path relative to --root.
 *
 *   node --import tsx scripts/shipped/scores-vs-labels.ts --scores S.csv --labels L.csv --root DIR
 *     [--score-column quality] [--label-column score]
 */
import * as path from 'node:path';
import { arg } from '../../bench/args.js';
import { spearman } from '../../src/eval/rank-correlation.js';
import { readResults } from '../../src/pipelines/records.js';

const scoresFile = arg('scores', '');
const labelsFile = arg('labels', '');
const root = arg('root', '');
if (!scoresFile || !labelsFile || !root) throw new Error('usage: --scores S.csv --labels L.csv --root DIR (the folder the label paths are relative to)');
const scoreColumn = arg('score-column', 'quality');
const labelColumn = arg('label-column', 'score');

const labels = new Map(readResults(labelsFile).map((r) => [r.path, r.values[labelColumn]]));
const pairs: [number, number][] = [];
let unmatched = 0;
for (const r of readResults(scoresFile)) {
  const label = labels.get(path.relative(root, r.path).split(path.sep).join('/'));
  const score = r.values[scoreColumn];
  if (label === undefined || score === undefined) unmatched++;
  else pairs.push([score, label]);
}
if (pairs.length < 3) throw new Error(`only ${pairs.length} scored images have a label in ${labelsFile} (check --root ${root})`);
const rho = spearman(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
process.stdout.write(`${pairs.length} images (${unmatched} scored without a label): Spearman(${scoreColumn}, ${labelColumn}) = ${rho.toFixed(4)}\n`);
