/**
 * Promotes a distilled regressor to a shipped model: its `best.safetensors` (weights, spec and label range in the
 * metadata, so it loads without its config) is copied to `models/<kind>-mobileface.safetensors` and registered in
 * `models/manifest.json` with its SHA-256, so that `diffiqa score` without `--model` (eDifFIQA) finds it. The file
 * is loaded first, so a file that would not score is never shipped. The model card (models/<kind>.md) is written
 * by hand.
 *
 *   node --import tsx scripts/shipped/promote-regressor.ts --kind ediffiqa|diffiqa-r --from runs/shipped/ediffiqa/best.safetensors
 */
import * as fs from 'node:fs';
import { arg } from '../../bench/args.js';
import { initBackend } from '../../src/backend/index.js';
import { registerShipped } from '../../src/models/shipped.js';
import { loadRegressor } from '../../src/pipelines/score.js';
import { resolveRegressorPath } from '../../src/regressor/weights.js';

const kind = arg('kind', '');
if (kind !== 'ediffiqa' && kind !== 'diffiqa-r') throw new Error(`--kind must be ediffiqa or diffiqa-r, not '${kind}'`);
const from = resolveRegressorPath(arg('from', ''));
await initBackend();
const scorer = loadRegressor(from);
if (scorer.meta.spec.kind !== kind) throw new Error(`${from} is a ${scorer.meta.spec.kind} model, not ${kind}`);
scorer.dispose();
const entry = registerShipped(kind, `${kind}-mobileface.safetensors`, fs.readFileSync(from));
process.stderr.write(`promote-regressor: ${from} -> models/${entry.file}, ${entry.bytes} bytes, sha256 ${entry.sha256}\n`);
