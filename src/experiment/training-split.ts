/**
 * The identity-disjoint training split of the shipped models (shared/data/README.md "Protocol"): LFW images of
 * pair-list folds 1-5 and every image (frontal and profile) of the CFP identities of protocol folds 1-5. LFW
 * folds 6-10 and CFP folds 6-10 are the evaluation sets and never appear here.
 */
import * as path from 'node:path';
import { filterFolds, listPairImages, loadCfpPairs, loadLfwPairs } from '../eval/inputs.js';
import { DataError } from '../util/errors.js';
import { readdirSync } from 'node:fs';

/** The folds that train and select the shipped models. */
export const TRAINING_FOLDS: readonly number[] = [1, 2, 3, 4, 5];

/**
 * The identity of a path in the prepared faces folder (scripts/shipped/prepare-faces.ts): `lfw/images/<name>` or
 * `cfp/<id>` (frontal and profile photos of one person share it); a degraded copy (`degraded/...`,
 * scripts/shipped/degrade-faces.ts) shares its source's. The shipped regressor configs' `data.identityPattern`.
 */
export const SHIPPED_IDENTITY_PATTERN = '^(?:degraded/)?(lfw/images/[^/]+|cfp/[^/]+)/';

/** The folds that only evaluate: never trained on, never used to choose a setting. */
export const EVALUATION_FOLDS: readonly number[] = [6, 7, 8, 9, 10];

/** LFW image keys (relative to `lfwRoot`) referenced by the pairs of `folds` (default: training), sorted. */
export function lfwFoldImages(lfwRoot: string, folds: readonly number[] = TRAINING_FOLDS): string[] {
  return listPairImages(filterFolds(loadLfwPairs(path.join(lfwRoot, 'pairs.txt')), folds)).sort();
}

/** The CFP identity folder of an image key `Data/Images/<id>/...`. */
export function cfpIdentity(key: string): string {
  const m = /(?:^|\/)Data\/Images\/([^/]+)\//.exec(key);
  if (!m) throw new DataError(key, 'not a CFP image path (Data/Images/<id>/...)');
  return m[1];
}

/**
 * Where the aligned crop of a CFP image key lives, relative to a folder of aligned CFP faces:
 * `Data/Images/<id>/<pose>/<nn>.jpg` -> `<id>/<pose>/<nn>.png` (scripts/shipped/prepare-faces.ts writes them).
 */
export function cfpAlignedPath(key: string): string {
  return key.replace(/^Data\/Images\//, '').replace(/\.[^./]+$/, '.png');
}

/** CFP identities that occur in the FF or FP pairs of `folds` (default: training), sorted. */
export function cfpFoldIdentities(cfpRoot: string, folds: readonly number[] = TRAINING_FOLDS): string[] {
  const ids = new Set<string>();
  for (const protocol of ['FF', 'FP'] as const) {
    for (const pair of filterFolds(loadCfpPairs(cfpRoot, protocol), folds)) {
      ids.add(cfpIdentity(pair.a));
      ids.add(cfpIdentity(pair.b));
    }
  }
  return [...ids].sort();
}

/** Every image key (relative to `cfpRoot`) of the CFP identities of `folds`: frontal and profile, sorted. */
export function cfpFoldImages(cfpRoot: string, folds: readonly number[] = TRAINING_FOLDS): string[] {
  const keys: string[] = [];
  for (const id of cfpFoldIdentities(cfpRoot, folds)) {
    for (const pose of ['frontal', 'profile']) {
      const dir = path.join(cfpRoot, 'Data', 'Images', id, pose);
      let names: string[];
      try {
        names = readdirSync(dir).filter((n) => /\.(jpe?g|png)$/i.test(n));
      } catch {
        throw new DataError(dir, 'cannot list the CFP identity folder');
      }
      keys.push(...names.map((n) => `Data/Images/${id}/${pose}/${n}`));
    }
  }
  return keys.sort();
}
