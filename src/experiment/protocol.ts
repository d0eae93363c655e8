/**
 * The experiment's evaluation sets and training images (shared/data/README.md "Suggested protocol"):
 * - `lfw`: LFW pairs of the test folds;
 * - `xq-lfw`: the same pairs with the second image of every pair degraded by the training degradation chain
 *   (seeded per image, so a rerun writes the same files): a cross-quality copy in the spirit of XQLFW;
 * - `cfp-fp`, `cfp-ff`: CFP frontal-profile and frontal-frontal pairs, read from the aligned crops when the config
 *   has them (`data.cfpAligned`), else from the raw photos.
 * The regressors train on the images of the LFW training folds. Optional per-fold subsets (a seeded choice of
 * half mated, half non-mated pairs) keep a run within hours on two cores.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeImage, encodeImage } from '../data/image-io.js';
import { degradeChain } from '../data/degrade/bsrgan.js';
import { filterFolds, listPairImages, loadCfpPairs, loadLfwPairs, type Pair } from '../eval/inputs.js';
import type { ResolveImage } from '../eval/prepare.js';
import { writeFileAtomic } from '../util/atomic.js';
import { formatCsv } from '../util/csv.js';
import { Rng, deriveSeed } from '../util/rng.js';
import type { ExperimentConfig, SetName } from './config.js';
import { cfpAlignedPath } from './training-split.js';

/** One evaluation set: pairs of image keys and where each key's file is. */
export interface EvalSet {
  name: string;
  pairs: Pair[];
  images: string[];
  resolve: ResolveImage;
}

/** Everything the stages need to know about the data. */
export interface ExperimentProtocol {
  /** LFW keys (relative to data.lfw) of the regressors' training images. */
  lfwTrainImages: string[];
  sets: EvalSet[];
  /** Cross-quality copies: key (relative to the output folder) and the LFW key it is made from. */
  degraded: Array<{ key: string; source: string }>;
}

/** Prefix of the cross-quality copies' keys; their files live under `<out>/xq/`. */
export const XQ_PREFIX = 'xq/';

/**
 * Keeps `perFold` pairs of every fold in `folds` (all when perFold is null): ceil(k/2) mated and floor(k/2)
 * non-mated, chosen by a seeded shuffle, in their original order.
 */
export function choosePairs(pairs: readonly Pair[], folds: readonly number[], perFold: number | null, seed: string): Pair[] {
  const kept = filterFolds(pairs, folds);
  if (perFold === null) return kept;
  const chosen = new Set<Pair>();
  for (const fold of folds) {
    for (const mated of [true, false]) {
      const group = kept.filter((p) => p.fold === fold && p.mated === mated);
      const want = mated ? Math.ceil(perFold / 2) : Math.floor(perFold / 2);
      new Rng(deriveSeed(seed, `${fold}:${mated}`)).shuffle([...group]).slice(0, want).forEach((p) => chosen.add(p));
    }
  }
  return kept.filter((p) => chosen.has(p));
}

/** The degraded copy's key of an LFW image key: `xq/images/A/A_0001.png`. */
export function degradedKey(source: string): string {
  return `${XQ_PREFIX}${source.replace(/\.[^./]+$/, '')}.png`;
}

/**
 * Where a CFP key (`Data/Images/<id>/<pose>/<nn>.jpg`) is read from: the aligned crop `<aligned>/<id>/<pose>/<nn>.png`
 * when the config has aligned faces (`data.cfpAligned`), else the raw photo.
 */
export function cfpResolver(cfg: Pick<ExperimentConfig, 'data'>): ResolveImage {
  const { cfp, cfpAligned } = cfg.data;
  if (cfpAligned === null) return (key) => path.join(cfp, key);
  return (key) => path.join(cfpAligned, cfpAlignedPath(key));
}

/** Builds the protocol from the config (deterministic: a rerun gets the same pairs). */
export function buildProtocol(cfg: ExperimentConfig): ExperimentProtocol {
  const p = cfg.protocol;
  const lfwPairs = loadLfwPairs(path.join(cfg.data.lfw, 'pairs.txt'));
  const lfwRoot = (key: string): string => path.join(cfg.data.lfw, key);
  const train = choosePairs(lfwPairs, p.trainFolds, p.lfwPairsPerFold, `${cfg.seed}:lfw-pairs`);
  const test = choosePairs(lfwPairs, p.testFolds, p.lfwPairsPerFold, `${cfg.seed}:lfw-pairs`);
  const xqPairs = test.map((pair) => ({ ...pair, b: degradedKey(pair.b) }));
  const wantXq = p.sets.includes('xq-lfw');
  const degraded = wantXq ? [...new Map(test.map((pair) => [degradedKey(pair.b), pair.b])).entries()].map(([key, source]) => ({ key, source })) : [];
  const xqResolve = (key: string): string => (key.startsWith(XQ_PREFIX) ? path.join(cfg.out, key) : lfwRoot(key));
  const cfp = (protocol: 'FP' | 'FF'): Pair[] =>
    choosePairs(loadCfpPairs(cfg.data.cfp, protocol), p.cfpFolds, p.cfpPairsPerFold, protocol === 'FP' ? `${cfg.seed}:cfp-pairs` : `${cfg.seed}:cfp-ff-pairs`);
  const set = (name: SetName, pairs: Pair[], resolve: ResolveImage): EvalSet => ({ name, pairs, images: listPairImages(pairs), resolve });
  const make: Record<SetName, () => EvalSet> = {
    lfw: () => set('lfw', test, lfwRoot),
    'xq-lfw': () => set('xq-lfw', xqPairs, xqResolve),
    'cfp-fp': () => set('cfp-fp', cfp('FP'), cfpResolver(cfg)),
    'cfp-ff': () => set('cfp-ff', cfp('FF'), cfpResolver(cfg)),
  };
  return { lfwTrainImages: listPairImages(train), sets: p.sets.map((name) => make[name]()), degraded };
}

/** The evaluation set called `name`, if the protocol has it. */
export function findSet(protocol: ExperimentProtocol, name: SetName): EvalSet | undefined {
  return protocol.sets.find((s) => s.name === name);
}

/** The evaluation set called `name`. @throws Error when the protocol has no such set (a programming error) */
export function getSet(protocol: ExperimentProtocol, name: SetName): EvalSet {
  const set = findSet(protocol, name);
  if (!set) throw new Error(`no evaluation set '${name}'`);
  return set;
}

/** Writes the pair lists as `<dir>/<set>.csv` (a,b,mated,fold), readable by `diffiqa eval --protocol csv`. */
export function writePairLists(protocol: ExperimentProtocol, dir: string): void {
  for (const set of protocol.sets) {
    const rows = set.pairs.map((p) => [p.a, p.b, p.mated ? 1 : 0, p.fold]);
    writeFileAtomic(path.join(dir, `${set.name}.csv`), formatCsv(['a', 'b', 'mated', 'fold'], rows));
  }
}

/**
 * Writes every missing cross-quality copy (112x112 PNG, atomically): the LFW image through the training
 * degradation chain with its own seed. Existing files are kept, so a killed run resumes.
 */
export async function writeDegradedCopies(cfg: ExperimentConfig, protocol: ExperimentProtocol, onProgress?: (done: number) => void): Promise<number> {
  let written = 0;
  for (const [i, { key, source }] of protocol.degraded.entries()) {
    const file = path.join(cfg.out, key);
    if (!fs.existsSync(file)) {
      const img = await decodeImage(path.join(cfg.data.lfw, source));
      const out = await degradeChain(img, new Rng(deriveSeed(cfg.seed, `xq:${source}`)), img.width, img.height);
      writeFileAtomic(file, await encodeImage(out, { format: 'png' }));
      written++;
    }
    onProgress?.(i + 1);
  }
  return written;
}
