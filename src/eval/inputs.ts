/**
 * Verification protocols read into pairs of image paths (METHOD.md §5.1; data layout in shared/data/README.md):
 * LFW `pairs.txt`, the CFP `Protocol/` folder (CFP-FF and CFP-FP), and a generic comparison CSV.
 *
 * Every image path is RELATIVE TO THE DATASET ROOT, '/'-separated and normalised (see `normaliseRelPath`), so
 * that protocol paths, quality files and embedding caches agree on one key per image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../util/errors.js';
import { findColumn, parseCsv, parseFiniteField } from '../util/csv.js';

/** One verification pair. */
export interface Pair {
  /** Image path relative to the dataset root. */
  a: string;
  b: string;
  /** Same identity. */
  mated: boolean;
  /** 1-based fold (LFW: position in pairs.txt; CFP: the Split folder number; CSV: the `fold` column or 1). */
  fold: number;
}

/** A pair with its comparison score (cosine similarity, higher = more similar). */
export interface ScoredPair extends Pair {
  score: number;
}

/**
 * Normalises an image path to the key used everywhere in src/eval: '\' becomes '/', an absolute path under `root`
 * is made relative to it, `.`/`..` segments are resolved lexically, and a leading './' is dropped.
 */
export function normaliseRelPath(p: string, root?: string): string {
  let s = p.trim().replace(/\\/g, '/');
  if (root !== undefined && path.isAbsolute(s)) {
    const rel = path.relative(path.resolve(root), s).replace(/\\/g, '/');
    if (!rel.startsWith('../') && rel !== '..') s = rel;
  }
  s = path.posix.normalize(s);
  return s.startsWith('./') ? s.slice(2) : s;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** LFW image path: images/<Name>/<Name>_<i zero-padded to 4>.jpg. */
export function lfwImagePath(name: string, index: number): string {
  return `images/${name}/${name}_${String(index).padStart(4, '0')}.jpg`;
}

/**
 * Parses an LFW pair list (View 2 `pairs.txt`: header `folds n`, then per fold n mated lines `Name i j` followed
 * by n non-mated lines `NameA i NameB j`; a one-number header `n` is read as one fold, as in pairsDevTrain.txt).
 * Fields may be separated by tabs or spaces.
 * @throws DataError naming file:line for a malformed header, line, or a wrong number of lines
 */
export function parseLfwPairs(text: string, file: string): Pair[] {
  const lines = text.split(/\r?\n/).map((l, i) => ({ no: i + 1, f: l.trim().split(/\s+/) }));
  const body = lines.filter((l) => l.f[0] !== '');
  const head = body.shift();
  const nums = head?.f.map(Number) ?? [];
  if (!head || nums.length < 1 || nums.length > 2 || !nums.every((v) => Number.isInteger(v) && v > 0)) {
    throw new DataError(`${file}:1`, `expected a header "folds pairsPerClass" (e.g. "10 300"), got "${head?.f.join(' ') ?? ''}"`);
  }
  const [folds, n] = nums.length === 2 ? (nums as [number, number]) : [1, nums[0] as number];
  if (body.length !== folds * 2 * n) {
    throw new DataError(file, `header promises ${folds} folds x ${2 * n} pairs = ${folds * 2 * n} lines, found ${body.length}`);
  }
  return body.map((l, j) => {
    const mated = j % (2 * n) < n;
    const where = `${file}:${l.no}`;
    const want = mated ? 3 : 4;
    if (l.f.length !== want) {
      throw new DataError(where, `expected a ${mated ? 'mated line "Name i j"' : 'non-mated line "NameA i NameB j"'}, got "${l.f.join(' ')}"`);
    }
    const idx = (s: string): number => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 1) throw new DataError(where, `image number must be a positive integer, got "${s}"`);
      return v;
    };
    const [n1, i1, x, y] = l.f as [string, string, string, string?];
    const a = lfwImagePath(n1, idx(i1));
    const b = mated ? lfwImagePath(n1, idx(x)) : lfwImagePath(x, idx(y as string));
    return { a, b, mated, fold: Math.floor(j / (2 * n)) + 1 };
  });
}

/** Reads LFW `pairs.txt` from a file. */
export function loadLfwPairs(file: string): Pair[] {
  return parseLfwPairs(readText(file), file);
}

/** CFP index list (`Pair_list_F.txt`): "index path" per line; paths relative to Protocol/ become root-relative. */
function readCfpIndex(file: string): Map<number, string> {
  const out = new Map<number, string>();
  readText(file)
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '') return;
      const m = /^(\d+)\s+(\S.*)$/.exec(line);
      if (!m) throw new DataError(`${file}:${i + 1}`, `expected "index path", got "${line}"`);
      out.set(Number(m[1]), normaliseRelPath(path.posix.join('Protocol', (m[2] as string).trim())));
    });
  return out;
}

/**
 * Reads a CFP protocol from the dataset root: `Protocol/Pair_list_{F,P}.txt` and `Protocol/Split/<FF|FP>/NN/{same,diff}.txt`
 * (lines `i,j`; FF pairs two frontal indices, FP a frontal then a profile index). Fold = the folder number.
 * @throws DataError naming file:line for a malformed line or an index missing from the list
 */
export function loadCfpPairs(root: string, protocol: 'FF' | 'FP'): Pair[] {
  const proto = path.join(root, 'Protocol');
  const frontal = readCfpIndex(path.join(proto, 'Pair_list_F.txt'));
  const second = protocol === 'FF' ? frontal : readCfpIndex(path.join(proto, 'Pair_list_P.txt'));
  const splitDir = path.join(proto, 'Split', protocol);
  let folders: string[];
  try {
    folders = fs.readdirSync(splitDir).filter((d) => /^\d+$/.test(d)).sort((x, y) => Number(x) - Number(y));
  } catch {
    throw new DataError(splitDir, 'cannot list the CFP split folders');
  }
  if (folders.length === 0) throw new DataError(splitDir, 'no numbered fold folders');
  const pairs: Pair[] = [];
  for (const folder of folders) {
    for (const [name, mated] of [['same.txt', true], ['diff.txt', false]] as const) {
      const file = path.join(splitDir, folder, name);
      readText(file)
        .split(/\r?\n/)
        .forEach((raw, i) => {
          const line = raw.trim();
          if (line === '') return;
          const m = /^(\d+)\s*,\s*(\d+)$/.exec(line);
          const a = m ? frontal.get(Number(m[1])) : undefined;
          const b = m ? second.get(Number(m[2])) : undefined;
          if (!m || a === undefined || b === undefined) {
            throw new DataError(`${file}:${i + 1}`, m ? `index not in the pair list: "${line}"` : `expected "i,j", got "${line}"`);
          }
          pairs.push({ a, b, mated, fold: Number(folder) });
        });
    }
  }
  return pairs;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes']);
const FALSE_WORDS = new Set(['0', 'false', 'no']);

/**
 * Parses a generic comparison CSV with a header naming the columns `a,b,mated,score` (any order; an optional
 * `fold` column; other columns ignored). `mated` is 1/0/true/false/yes/no. With `requireScore: false` the score
 * column may be absent (pairs to be scored from embeddings), and rows get score NaN.
 * @throws DataError naming file:line and the column for a malformed row, or the file for a missing column
 */
export function parseComparisonCsv(text: string, file: string, options: { requireScore?: boolean } = {}): ScoredPair[] {
  const table = parseCsv(text, file);
  const col = (name: string, required: boolean): number => {
    const i = findColumn(table.header, [name]);
    if (i < 0 && required) throw new DataError(file, `header must name a '${name}' column, got "${table.header.join(',')}"`);
    return i;
  };
  const [ia, ib, im] = [col('a', true), col('b', true), col('mated', true)];
  const is = col('score', options.requireScore ?? true);
  const ifold = col('fold', false);
  return table.rows.map(({ line, fields }) => {
    const matedWord = (fields[im] as string).toLowerCase();
    if (!TRUE_WORDS.has(matedWord) && !FALSE_WORDS.has(matedWord)) {
      throw new DataError(`${file}:${line}`, `column 'mated': expected 1/0/true/false, got "${fields[im]}"`);
    }
    const a = normaliseRelPath(fields[ia] as string);
    const b = normaliseRelPath(fields[ib] as string);
    if (a === '.' || b === '.') throw new DataError(`${file}:${line}`, 'empty image path');
    const fold = ifold >= 0 ? parseFiniteField(fields[ifold] as string, 'fold', file, line) : 1;
    const score = is >= 0 ? parseFiniteField(fields[is] as string, 'score', file, line) : NaN;
    return { a, b, mated: TRUE_WORDS.has(matedWord), fold, score };
  });
}

/** Reads a comparison CSV from a file (see `parseComparisonCsv`). */
export function loadComparisonCsv(file: string, options: { requireScore?: boolean } = {}): ScoredPair[] {
  return parseComparisonCsv(readText(file), file, options);
}

/** Keeps the pairs whose fold is in `folds` (all pairs when `folds` is empty or undefined). */
export function filterFolds<T extends Pair>(pairs: readonly T[], folds?: readonly number[]): T[] {
  if (!folds || folds.length === 0) return [...pairs];
  const set = new Set(folds);
  return pairs.filter((p) => set.has(p.fold));
}

/** Distinct image paths of a pair list, in first-seen order. */
export function listPairImages(pairs: readonly Pair[]): string[] {
  const seen = new Set<string>();
  for (const p of pairs) {
    seen.add(p.a);
    seen.add(p.b);
  }
  return [...seen];
}
