/**
 * How much of the DifFIQA labels of natural faces one view of a face can predict (issue 13's regressor targets).
 *
 * The label averages five similarities, three of them to the face's mirror image, so on undamaged faces its spread is
 * mostly how differently the labelling FR model sees a face and its mirror. This script measures that on the
 * training split's natural images (never the evaluation folds): for each FR model it embeds every face and its mirror,
 * fits ridge regressions on the training identities and prints Spearman(prediction, label) on the validation
 * identities, from
 *   - one view: the unit embedding of the face (what a backbone + head regressor sees);
 *   - two views: [a + b, |a - b|, cos(a, b), |a|, |b|] of the face's (a) and its mirror's (b) embeddings;
 *   - and the mirror cosine alone.
 *
 *   node --import tsx scripts/shipped/label-ceiling.ts [--train runs/shipped/labels/train.csv]
 *     [--val runs/shipped/labels/val.csv] [--faces runs/shipped/faces] [--models faceres,mobileface]
 *
 * The ridge solve is a float64 Cholesky written here: a one-off diagnostic, not worth a linear-algebra dependency.
 */
import * as path from 'node:path';
import { arg } from '../../bench/args.js';
import { initBackend } from '../../src/backend/index.js';
import { flipHorizontal } from '../../src/data/image.js';
import { decodeImage } from '../../src/data/image-io.js';
import { spearman } from '../../src/eval/rank-correlation.js';
import { embedBatch } from '../../src/fr/embed.js';
import { loadFrModel } from '../../src/fr/registry.js';
import type { FrModel } from '../../src/fr/types.js';
import { readResults, type ResultRow } from '../../src/pipelines/records.js';

const FACE = 112 * 112 * 3;
const LAMBDAS = [0.01, 0.1, 1];

interface Views {
  single: Float64Array[];
  pair: Float64Array[];
  mirrorCos: number[];
}

function unit(e: Float32Array): { u: Float64Array; norm: number } {
  let s = 0;
  for (const v of e) s += v * v;
  const norm = Math.sqrt(s);
  return { u: Float64Array.from(e, (v) => v / norm), norm };
}

/** Both feature sets of every row's face, embedded with `fr` (natural images: degraded copies are left out). */
async function embedViews(fr: FrModel, rows: readonly ResultRow[], faces: string): Promise<Views> {
  const out: Views = { single: [], pair: [], mirrorCos: [] };
  for (let i = 0; i < rows.length; i += 32) {
    const chunk = rows.slice(i, i + 32);
    const imgs = await Promise.all(chunk.map((r) => decodeImage(path.join(faces, r.path), { size: { width: 112, height: 112 } })));
    const plain = new Float32Array(chunk.length * FACE), mirror = new Float32Array(chunk.length * FACE);
    imgs.forEach((img, j) => {
      plain.set(img.data, j * FACE);
      mirror.set(flipHorizontal(img).data, j * FACE);
    });
    const ea = embedBatch(fr, plain, chunk.length), eb = embedBatch(fr, mirror, chunk.length);
    ea.forEach((e, j) => {
      const a = unit(e), b = unit(eb[j] as Float32Array), d = a.u.length;
      let cos = 0;
      for (let k = 0; k < d; k++) cos += (a.u[k] as number) * (b.u[k] as number);
      const pair = new Float64Array(2 * d + 3);
      for (let k = 0; k < d; k++) {
        pair[k] = (a.u[k] as number) + (b.u[k] as number);
        pair[d + k] = Math.abs((a.u[k] as number) - (b.u[k] as number));
      }
      pair.set([cos, a.norm, b.norm], 2 * d);
      out.single.push(a.u);
      out.pair.push(pair);
      out.mirrorCos.push(cos);
    });
  }
  return out;
}

/** Ridge weights (last = intercept, not penalised) minimising |Xw - y|² + λ|w|². */
function ridge(X: readonly Float64Array[], y: readonly number[], lambda: number): Float64Array {
  const p = (X[0] as Float64Array).length + 1;
  const A = new Float64Array(p * p), rhs = new Float64Array(p), row = new Float64Array(p);
  X.forEach((x, n) => {
    row.set(x);
    row[p - 1] = 1;
    for (let i = 0; i < p; i++) {
      const ri = row[i] as number;
      rhs[i] = (rhs[i] as number) + ri * (y[n] as number);
      for (let j = 0; j <= i; j++) A[i * p + j] = (A[i * p + j] as number) + ri * (row[j] as number);
    }
  });
  for (let i = 0; i < p - 1; i++) A[i * p + i] = (A[i * p + i] as number) + lambda;
  // Cholesky A = L Lᵀ in place (lower triangle), then two triangular solves.
  for (let j = 0; j < p; j++) {
    let d = A[j * p + j] as number;
    for (let k = 0; k < j; k++) d -= (A[j * p + k] as number) ** 2;
    const l = Math.sqrt(d);
    A[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = A[i * p + j] as number;
      for (let k = 0; k < j; k++) s -= (A[i * p + k] as number) * (A[j * p + k] as number);
      A[i * p + j] = s / l;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = rhs[i] as number;
    for (let k = 0; k < i; k++) s -= (A[i * p + k] as number) * (z[k] as number);
    z[i] = s / (A[i * p + i] as number);
  }
  const w = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < p; k++) s -= (A[k * p + i] as number) * (w[k] as number);
    w[i] = s / (A[i * p + i] as number);
  }
  return w;
}

function predict(w: Float64Array, x: Float64Array): number {
  let s = w[w.length - 1] as number;
  for (let k = 0; k < x.length; k++) s += (w[k] as number) * (x[k] as number);
  return s;
}

const natural = (file: string): ResultRow[] => readResults(file).filter((r) => !r.path.startsWith('degraded'));
const train = natural(arg('train', 'runs/shipped/labels/train.csv'));
const val = natural(arg('val', 'runs/shipped/labels/val.csv'));
const faces = arg('faces', 'runs/shipped/faces');
const label = (r: ResultRow): number => r.values.score as number;
const subsets = [
  ['LFW', val.map((r, i) => (r.path.startsWith('lfw') ? i : -1)).filter((i) => i >= 0)],
  ['CFP', val.map((r, i) => (r.path.startsWith('cfp') ? i : -1)).filter((i) => i >= 0)],
] as const;
const rho = (pred: readonly number[]): string =>
  subsets.map(([name, idx]) => `${name} ${spearman(idx.map((i) => pred[i] as number), idx.map((i) => label(val[i] as ResultRow))).toFixed(3)}`).join(', ');

await initBackend();
process.stdout.write(`natural images: ${train.length} training, ${val.length} validation (${subsets.map(([n, idx]) => `${idx.length} ${n}`).join(', ')})\n`);
for (const name of arg('models', 'faceres,mobileface').split(',')) {
  const fr = await loadFrModel(name);
  const [tv, vv] = [await embedViews(fr, train, faces), await embedViews(fr, val, faces)];
  fr.dispose();
  process.stdout.write(`${name}: mirror cosine alone: ${rho(vv.mirrorCos)}\n`);
  for (const kind of ['single', 'pair'] as const) {
    for (const lambda of LAMBDAS) {
      const w = ridge(tv[kind], train.map(label), lambda);
      process.stdout.write(`${name}: ridge on ${kind === 'single' ? 'one view ' : 'two views'} (λ ${lambda}): ${rho(vv[kind].map((x) => predict(w, x)))}\n`);
    }
  }
}
