/**
 * Splits the shipped label file by identity into a training part and a validation part, so that the regressors'
 * settings are chosen on identities they were not distilled from (issue 13): every identity (the first
 * `--identity` pattern's group of a path: lfw/images/<name>, cfp/<id>) goes wholly to one side, by a seeded shuffle
 * of the sorted identities. Rows keep their columns and order.
 *
 *   node --import tsx scripts/shipped/split-labels.ts [--labels runs/shipped/labels/labels.csv] [--val 0.1]
 *     [--identity REGEX] [--seed split] [--out runs/shipped/labels]   -> <out>/train.csv, <out>/val.csv
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { arg } from '../../bench/args.js';
import { LABEL_COLUMNS } from '../../src/pipelines/label.js';
import { ResultWriter, readResults } from '../../src/pipelines/records.js';
import { identityOf } from '../../src/train/regressor-labels.js';
import { compileIdentityPattern } from '../../src/regressor/config.js';
import { SHIPPED_IDENTITY_PATTERN } from '../../src/experiment/training-split.js';
import { Rng } from '../../src/util/rng.js';

const labels = arg('labels', 'runs/shipped/labels/labels.csv');
const share = Number(arg('val', '0.1'));
const pattern = compileIdentityPattern(arg('identity', SHIPPED_IDENTITY_PATTERN));
const out = arg('out', path.dirname(labels));
if (!(share > 0 && share < 1)) throw new Error(`--val must be in (0, 1), got ${share}`);

const rows = readResults(labels);
const identities = [...new Set(rows.map((r) => identityOf(r.path, pattern, labels)))].sort();
const val = new Set(new Rng(arg('seed', 'split')).shuffle(identities).slice(0, Math.round(share * identities.length)));
for (const [name, keep] of [['train', false], ['val', true]] as const) {
  const file = path.join(out, `${name}.csv`);
  fs.rmSync(file, { force: true });
  new ResultWriter(file, LABEL_COLUMNS).append(rows.filter((r) => val.has(identityOf(r.path, pattern, labels)) === keep));
}
const valRows = rows.filter((r) => val.has(identityOf(r.path, pattern, labels))).length;
process.stderr.write(`split-labels: ${identities.length} identities, ${val.size} (${valRows} images) -> ${out}/val.csv, the rest (${rows.length - valRows}) -> ${out}/train.csv\n`);
