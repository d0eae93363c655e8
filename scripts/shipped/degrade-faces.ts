/**
 * Degraded copies of a share of the training faces, for the regressors' training set (issue 13). The reference
 * regressors learn from VGGFace2, whose photos range from studio portraits to blurred, tiny and compressed ones;
 * LFW and CFP hold few poor images (models/training-labels.md), so a regressor distilled from them alone has never
 * seen a badly damaged face. Each copy is the method's own degradation (METHOD §1.3-1.4, the diffusion model's
 * training input): x = (1 - a) * hq + a * bsrgan(hq), a = sin(u * pi / 2) with u ~ U(0, 1), so the damage runs
 * from none to the full BSRGAN chain. It is not the quality ladder's fixed damage (src/data/quality-ladder.ts).
 *
 * Copies go to <faces>/degraded/<same path>.png (the diffusion trainer reads <faces>/lfw only, so it never sees
 * them); `a` per copy goes to <faces>/degraded.jsonl. The copies are then labelled like any image. Resumable:
 * existing copies are kept.
 *
 *   node --import tsx scripts/shipped/degrade-faces.ts [--faces runs/shipped/faces] [--every 3] [--seed degrade]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { arg } from '../../bench/args.js';
import { degradeChain } from '../../src/data/degrade/bsrgan.js';
import { listImageFiles } from '../../src/data/files.js';
import { decodeImage, encodeImage } from '../../src/data/image-io.js';
import type { RgbImage } from '../../src/data/image.js';
import { appendLinesDurable, writeFileAtomic } from '../../src/util/atomic.js';
import { deriveSeed, Rng } from '../../src/util/rng.js';
import { Progress } from '../../src/util/progress.js';

const faces = path.resolve(arg('faces', 'runs/shipped/faces'));
const every = Number(arg('every', '3'));
const seed = arg('seed', 'degrade');
if (!(Number.isInteger(every) && every >= 1)) throw new Error(`--every must be a positive integer, got ${every}`);
const SIZE = 112;

/** (1 - a) * hq + a * lq, pixel by pixel, clamped to [0, 1]. */
function mix(hq: RgbImage, lq: RgbImage, a: number): RgbImage {
  const data = new Float32Array(hq.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, (1 - a) * (hq.data[i] as number) + a * (lq.data[i] as number)));
  return { ...hq, data };
}

const sources = [...listImageFiles(['lfw', 'cfp'].map((d) => path.join(faces, d)))]
  .map((f) => path.relative(faces, f).split(path.sep).join('/'))
  .sort()
  .filter((_, i) => i % every === 0);
const records = path.join(faces, 'degraded.jsonl');
const bar = new Progress('degrade', sources.length, { unit: 'img' });
let made = 0;
for (const rel of sources) {
  bar.tick();
  const target = path.join(faces, 'degraded', rel.replace(/\.[^./]+$/, '.png'));
  if (fs.existsSync(target)) continue;
  // One stream per image: a copy is a pure function of (seed, path). Not src/data/training-pair.ts's
  // loadTrainingPair (the same decode + chain): it draws its flip first, which would change the shipped labels' copies.
  const rng = new Rng(deriveSeed(seed, rel));
  const hq = await decodeImage(path.join(faces, rel), { size: { width: SIZE, height: SIZE } });
  const lq = await degradeChain(await decodeImage(path.join(faces, rel), { size: 'native' }), rng, SIZE, SIZE);
  const a = Math.sin((rng.uniform() * Math.PI) / 2);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  writeFileAtomic(target, await encodeImage(mix(hq, lq, a), { format: 'png' }));
  appendLinesDurable(records, [JSON.stringify({ path: path.relative(faces, target).split(path.sep).join('/'), source: rel, a })]);
  made++;
}
bar.done();
process.stderr.write(`degrade-faces: ${made} new copies (${sources.length - made} existed) of one face in ${every} -> ${path.join(faces, 'degraded')}\n`);
