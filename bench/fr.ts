/**
 * LFW 10-fold verification accuracy and throughput of the FR models (shared/data/lfw-112, README there).
 * Cosine similarity; per fold, the threshold that maximises accuracy on the other 9 folds.
 *
 *   node --import tsx bench/fr.ts [--models mobileface,dlib] [--limit-folds N] [--pairs-per-fold M] [--batch 32] [--backend cpu]
 *     [--protocol lfw|cfp-fp|cfp-ff --cfp ../shared/data/cfp --cfp-aligned DIR[,DIR...]]
 *
 * `--protocol cfp-fp|cfp-ff` runs CFP's 10-fold protocol instead, on faces aligned to the ArcFace template: each
 * photo `Data/Images/<id>/<pose>/<nn>.jpg` is read from the first `--cfp-aligned` folder holding
 * `<id>/<pose>/<nn>.png` (scripts/shipped/prepare-faces.ts writes folds 1-5 to runs/shipped/faces/cfp and, with
 * --folds eval, folds 6-10 to runs/shipped/eval-faces/cfp). It also prints FNMR at FMR 1e-3 over all pairs.
 * Measured (native, 2 shared cores, aligned CFP, 10 folds): see README "Results".
 *
 * `--limit-folds N` embeds only the images of the first N folds (faster on CPU; accuracy is then N-fold);
 * `--models dlib-resize` runs dlib with a plain 112->150 upscale instead of its default chip geometry
 * (src/fr/dlib.ts DlibChip).
 * `--pairs-per-fold M` keeps the first M/2 mated and M/2 non-mated pairs of each fold.
 * Skips with a message when ../shared/data/lfw-112 is absent.
 * Measured (native backend, 2 shared cores, both models at once): mobileface 0.9423 ± 0.0120, dlib 0.9913 ±
 * 0.0029, about 14 images/s each incl. JPEG decode.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { loadCfpPairs, loadLfwPairs, type Pair } from '../src/eval/inputs.js';
import { cfpAlignedPath } from '../src/experiment/training-split.js';
import { selectFmrThreshold, computeFnmr } from '../src/eval/threshold.js';
import { embedImages } from '../src/fr/embed.js';
import { loadFrModel } from '../src/fr/registry.js';
import { loadDlib } from '../src/fr/dlib.js';
import { computeVerificationAccuracy, cosineSimilarity } from '../src/fr/verification.js';
import { arg } from './args.js';

/** The first `limitFolds` folds, each cut to `perFold` pairs (half mated, half non-mated). */
function subsetPairs(all: readonly Pair[], limitFolds: number, perFold: number): Pair[] {
  const out: Pair[] = [];
  for (let f = 1; f <= limitFolds; f++) {
    const fold = all.filter((p) => p.fold === f);
    out.push(...fold.filter((p) => p.mated).slice(0, perFold / 2), ...fold.filter((p) => !p.mated).slice(0, perFold / 2));
  }
  return out;
}

async function main(): Promise<void> {
  const root = resolve(arg('lfw', join(process.cwd(), '..', 'shared', 'data', 'lfw-112')));
  if (!existsSync(join(root, 'pairs.txt'))) {
    console.log(`SKIP: LFW not found at ${root} (expected pairs.txt and images/)`);
    return;
  }
  const backend = await initBackend(arg('backend', '') || undefined);
  const models = arg('models', 'mobileface,dlib').split(',');
  const limitFolds = Number(arg('limit-folds', '10'));
  const batchSize = Number(arg('batch', '32'));
  const perFold = Number(arg('pairs-per-fold', '600'));
  const protocol = arg('protocol', 'lfw');
  if (!['lfw', 'cfp-fp', 'cfp-ff'].includes(protocol)) throw new Error(`--protocol must be lfw, cfp-fp or cfp-ff, not '${protocol}'`);
  const cfpRoot = resolve(arg('cfp', join(process.cwd(), '..', 'shared', 'data', 'cfp')));
  const aligned = arg('cfp-aligned', '').split(',').filter((d) => d !== '').map((d) => resolve(d));
  if (protocol !== 'lfw' && aligned.length === 0) throw new Error('--protocol cfp-* needs --cfp-aligned DIR[,DIR...] (folders of aligned CFP crops)');
  const all = protocol === 'lfw' ? loadLfwPairs(join(root, 'pairs.txt')) : loadCfpPairs(cfpRoot, protocol === 'cfp-fp' ? 'FP' : 'FF');
  const pairs = subsetPairs(all, limitFolds, perFold);
  const images = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const fileOf = (key: string): string => {
    if (protocol === 'lfw') return join(root, key);
    const rel = cfpAlignedPath(key);
    const dir = aligned.find((d) => existsSync(join(d, rel)));
    if (!dir) throw new Error(`no aligned crop of ${key} (${rel}) in ${aligned.join(', ')}`);
    return join(dir, rel);
  };
  console.log(`backend ${backend}; ${protocol}: ${pairs.length} pairs in ${limitFolds} folds (${perFold} per fold), ${images.length} images`);
  for (const name of models) {
    const fr = name === 'dlib-resize' ? loadDlib(undefined, 'resize') : await loadFrModel(name);
    try {
      const t0 = performance.now();
      const emb = await embedImages(fr, images.map(fileOf), { batchSize });
      const secs = (performance.now() - t0) / 1000;
      const scored = pairs.map((p) => ({
        score: cosineSimilarity(emb.get(fileOf(p.a))!, emb.get(fileOf(p.b))!),
        mated: p.mated,
        fold: p.fold,
      }));
      const acc = computeVerificationAccuracy(scored);
      const mated = Float64Array.from(scored.filter((x) => x.mated), (x) => x.score).sort();
      const non = Float64Array.from(scored.filter((x) => !x.mated), (x) => x.score).sort();
      const fnmr = computeFnmr(mated, selectFmrThreshold(mated, non, 1e-3, 'at-most').threshold);
      console.log(
        `${name}: ${protocol} ${limitFolds}-fold accuracy ${acc.mean.toFixed(4)} ± ${acc.std.toFixed(4)}, FNMR at FMR 1e-3 ${fnmr.toFixed(4)}; ` +
          `${(images.length / secs).toFixed(1)} images/s (${secs.toFixed(1)} s incl. JPEG decode, batch ${batchSize})`,
      );
    } finally {
      fr.dispose();
    }
  }
}

await main();
