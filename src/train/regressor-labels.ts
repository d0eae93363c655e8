/**
 * Training items of the regressors: the labeller's output (CSV/JSONL with `path` and a score column, read with
 * src/pipelines/records.ts) matched to the images under the data folder, min-max normalised, and split into
 * training and validation as the reference does (METHOD §3, §4.2).
 */
import * as path from 'node:path';
import { listImageFiles } from '../data/files.js';
import { normaliseRelPath } from '../eval/inputs.js';
import { readResults } from '../pipelines/records.js';
import { DataError } from '../util/errors.js';
import { compileIdentityPattern } from '../regressor/config.js';
import type { LabelRange } from '../regressor/spec.js';

export type { LabelRange } from '../regressor/spec.js';

/** One labelled image. */
export interface LabelledItem {
  /** Path to read the image from. */
  file: string;
  /** Path relative to the data folder (POSIX separators): the key in label and cache files. */
  rel: string;
  /** Identity: the relative path with its file name removed (METHOD §4.2), or what `identityPattern` picks from it. */
  identity: string;
  /** The raw label (DifFIQA score). */
  raw: number;
}

/** The result of matching a label file to a data folder. */
export interface LabelMatch {
  items: LabelledItem[];
  /** Label rows whose image is not under the data folder (the reference also keeps only items on disk). */
  unmatched: string[];
}

/**
 * Reads `labelsFile` and keeps the rows whose image exists under `dataDir` (paths relative to it, or absolute
 * paths inside it). Items come back sorted by relative path.
 * @throws DataError naming the file for a missing score column, a non-finite score, a duplicate, or no match
 */
export function readLabelledItems(labelsFile: string, dataDir: string, column = 'score', identityPattern: string | null = null): LabelMatch {
  const pattern = identityPattern === null ? null : compileIdentityPattern(identityPattern);
  const rows = readResults(labelsFile);
  if (rows.length === 0) throw new DataError(labelsFile, 'no labels (missing or empty file)');
  const onDisk = new Map<string, string>();
  for (const f of listImageFiles(dataDir)) onDisk.set(normaliseRelPath(path.relative(dataDir, f)), f);
  const seen = new Set<string>();
  const items: LabelledItem[] = [];
  const unmatched: string[] = [];
  rows.forEach((r, i) => {
    const raw = r.values[column];
    if (typeof raw !== 'number' || !Number.isFinite(raw)) {
      throw new DataError(`${labelsFile}:${i + 1}`, `'${r.path}': ${column} must be a finite number, got ${JSON.stringify(raw)}`);
    }
    const rel = normaliseRelPath(r.path, dataDir);
    if (seen.has(rel)) throw new DataError(labelsFile, `'${rel}' is labelled twice`);
    seen.add(rel);
    const file = onDisk.get(rel);
    if (!file) {
      unmatched.push(r.path);
      return;
    }
    items.push({ file, rel, identity: identityOf(rel, pattern, labelsFile), raw });
  });
  if (items.length === 0) {
    throw new DataError(labelsFile, `none of its ${rows.length} paths is an image under ${dataDir} (first: '${rows[0]!.path}')`);
  }
  items.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { items, unmatched };
}

/**
 * The identity of an image: its folder, or the first group (else the whole match) of `pattern` in its relative path.
 * @throws DataError naming `source` when the pattern does not match the path
 */
export function identityOf(rel: string, pattern: RegExp | null, source = 'labels'): string {
  if (pattern === null) return path.posix.dirname(rel);
  const m = pattern.exec(rel);
  if (!m) throw new DataError(source, `'${rel}' does not match identityPattern ${pattern.source}`);
  return m[1] ?? m[0];
}

/** The min and max of the raw labels. @throws DataError when all labels are equal (nothing to learn). */
export function computeLabelRange(raw: readonly number[], source = 'labels'): LabelRange {
  let min = Infinity;
  let max = -Infinity;
  for (const v of raw) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  if (!(max > min)) throw new DataError(source, `all ${raw.length} labels equal ${min}: min-max normalisation is undefined`);
  return { min, max };
}

/** q' = (q - min) / (max - min) (METHOD §3). */
export function normaliseLabel(q: number, r: LabelRange): number {
  return (q - r.min) / (r.max - r.min);
}

/**
 * Splits item indices into training and validation: sort by label (ties by index) and take every `every`-th
 * item as validation (the reference's stratified `val_split: 0.1`, METHOD §3). We take sorted positions
 * 0, every, 2*every, ... (the reference's exact offset is not recorded in METHOD).
 */
export function splitByLabel(labels: readonly number[], every = 10): { train: number[]; val: number[] } {
  const order = labels.map((_, i) => i).sort((a, b) => (labels[a] as number) - (labels[b] as number) || a - b);
  const train: number[] = [];
  const val: number[] = [];
  order.forEach((idx, pos) => (pos % every === 0 ? val : train).push(idx));
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}
