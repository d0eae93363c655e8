/**
 * Quality score files and their matching to pair images.
 *
 * Formats: CSV with a header naming `path` and `quality` (the labeller's `score` is accepted as the quality column
 * name), or JSONL (`.jsonl`/`.ndjson`) with one object `{"path": …, "quality"|"score": number}` per line.
 *
 * Matching rule (pair paths are dataset-root-relative, see inputs.ts `normaliseRelPath`):
 * 1. Quality paths are normalised the same way; absolute paths under `root` (the dataset folder) become relative.
 * 2. A pair image matches the quality entry with the same key.
 * 3. Otherwise it matches the ONE entry whose key ends with `/<pair path>` (a file written with longer paths, e.g.
 *    `lfw-112/images/X/X_0001.jpg` or an absolute path from another machine). Two such entries are an error.
 * Nothing else (no basename-only matching: CFP reuses `01.jpg` in every folder).
 */
import * as fs from 'node:fs';
import { DataError } from '../util/errors.js';
import { parseJsonObjectLines } from '../util/jsonl.js';
import { findColumn, parseCsv, parseFiniteField } from '../util/csv.js';
import { normaliseRelPath } from './inputs.js';

/** Column names accepted for the quality value, in order of preference. */
const QUALITY_COLUMNS = ['quality', 'score'] as const;

/**
 * Reads a quality file into a map from normalised path to quality.
 * @param root dataset folder: absolute paths under it are made relative
 * @throws DataError naming file:line for a malformed line, a non-finite quality or a duplicated path
 */
export function loadQualityFile(file: string, root?: string): Map<string, number> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return /\.(jsonl|ndjson)$/i.test(file) ? parseQualityJsonl(text, file, root) : parseQualityCsv(text, file, root);
}

function addEntry(out: Map<string, number>, raw: string, q: number, where: string, root?: string): void {
  if (raw.trim() === '') throw new DataError(where, 'empty path');
  const key = normaliseRelPath(raw, root);
  if (out.has(key)) throw new DataError(where, `duplicate path "${key}"`);
  out.set(key, q);
}

/** Parses the CSV form (see the file comment). */
export function parseQualityCsv(text: string, file: string, root?: string): Map<string, number> {
  const table = parseCsv(text, file);
  const ip = findColumn(table.header, ['path']);
  const iq = findColumn(table.header, QUALITY_COLUMNS);
  if (ip < 0 || iq < 0) {
    throw new DataError(file, `header must name 'path' and 'quality' (or 'score') columns, got "${table.header.join(',')}"`);
  }
  const name = table.header[iq] as string;
  const out = new Map<string, number>();
  for (const { line, fields } of table.rows) {
    addEntry(out, fields[ip] as string, parseFiniteField(fields[iq] as string, name, file, line), `${file}:${line}`, root);
  }
  return out;
}

/** Parses the JSONL form (see the file comment). */
export function parseQualityJsonl(text: string, file: string, root?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const { obj: rec, where } of parseJsonObjectLines(text, file)) {
    const q = rec.quality ?? rec.score;
    if (typeof rec.path !== 'string') throw new DataError(where, `expected a string "path", got ${JSON.stringify(rec.path)}`);
    if (typeof q !== 'number' || !Number.isFinite(q)) {
      throw new DataError(where, `expected a finite number "quality" (or "score"), got ${JSON.stringify(q)}`);
    }
    addEntry(out, rec.path, q, where, root);
  }
  return out;
}

/**
 * Looks up the quality of every image (matching rule in the file comment).
 * @param images dataset-relative image paths
 * @param qualities as returned by `loadQualityFile`
 * @param file the quality file, named in errors
 * @throws DataError if any image has no quality (the count and the first few paths), or a suffix match is ambiguous
 */
export function matchQualities(images: readonly string[], qualities: ReadonlyMap<string, number>, file: string): Map<string, number> {
  let bySuffix: Map<string, string | null> | null = null;
  const out = new Map<string, number>();
  const missing: string[] = [];
  for (const img of images) {
    const exact = qualities.get(img);
    if (exact !== undefined) {
      out.set(img, exact);
      continue;
    }
    bySuffix ??= indexSuffixes(qualities);
    const key = bySuffix.get(img);
    if (key === null) throw new DataError(file, `image "${img}" matches several quality paths by suffix; use paths relative to the dataset`);
    if (key === undefined) missing.push(img);
    else out.set(img, qualities.get(key) as number);
  }
  if (missing.length > 0) {
    throw new DataError(
      file,
      `${missing.length} of ${images.length} pair images have no quality, e.g. ${missing.slice(0, 5).join(', ')}`,
    );
  }
  return out;
}

/** Maps every proper '/'-suffix of every key to that key, or to null when two keys share the suffix. */
function indexSuffixes(qualities: ReadonlyMap<string, number>): Map<string, string | null> {
  const index = new Map<string, string | null>();
  for (const key of qualities.keys()) {
    for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) {
      const suffix = key.slice(i + 1);
      if (suffix === '') continue;
      index.set(suffix, index.has(suffix) && index.get(suffix) !== key ? null : key);
    }
  }
  return index;
}
