/**
 * Binary cache of FR embeddings per (FR model, dataset), so that an evaluation re-run (new quality files, another
 * threshold mode) does not recompute embeddings.
 *
 * Layout (little-endian): 8 bytes magic `DFQEMB01`, uint32 header length L, L bytes of UTF-8 JSON
 * `{fr, dataset, dim, count, paths}`, zero padding to a multiple of 4, then count·dim float32 values, row i being
 * the embedding of paths[i]. Written atomically (temp + rename), so a killed run never leaves half a cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { DataError } from '../util/errors.js';

const MAGIC = 'DFQEMB01';

interface CacheHeader {
  fr: string;
  dataset: string;
  dim: number;
  count: number;
  paths: string[];
}

/** A file-name-safe version of a model or dataset name. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The cache file for (fr, dataset) under `cacheDir`: `<cacheDir>/<fr>/<dataset>.emb`. */
export function getEmbeddingCachePath(cacheDir: string, fr: string, dataset: string): string {
  return path.join(cacheDir, safeName(fr), `${safeName(dataset)}.emb`);
}

/**
 * Writes the embeddings of one (fr, dataset) atomically.
 * @throws DataError if the embeddings do not all have the same length
 */
export function saveEmbeddingCache(file: string, fr: string, dataset: string, embeddings: ReadonlyMap<string, Float32Array>): void {
  const paths = [...embeddings.keys()];
  const dim = paths.length > 0 ? (embeddings.get(paths[0] as string) as Float32Array).length : 0;
  const header = Buffer.from(JSON.stringify({ fr, dataset, dim, count: paths.length, paths } satisfies CacheHeader), 'utf8');
  const headerEnd = 12 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const buf = Buffer.alloc(dataStart + 4 * dim * paths.length);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  paths.forEach((p, i) => {
    const e = embeddings.get(p) as Float32Array;
    if (e.length !== dim) throw new DataError(file, `embedding of "${p}" has ${e.length} values, expected ${dim}`);
    for (let j = 0; j < dim; j++) buf.writeFloatLE(e[j] as number, dataStart + 4 * (i * dim + j));
  });
  writeFileAtomic(file, buf);
}

/**
 * Reads a cache written by `saveEmbeddingCache`, checking that it belongs to (fr, dataset).
 * Returns null when the file does not exist.
 * @throws DataError for a corrupt or foreign file
 */
export function loadEmbeddingCache(file: string, fr: string, dataset: string): Map<string, Float32Array> | null {
  if (!fs.existsSync(file)) return null;
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new DataError(file, 'not an embedding cache (bad magic)');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw new DataError(file, 'truncated header');
  let header: CacheHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + len)) as CacheHeader;
  } catch {
    throw new DataError(file, 'corrupt header JSON');
  }
  if (header.fr !== fr || header.dataset !== dataset) {
    throw new DataError(file, `cache is for fr '${header.fr}', dataset '${header.dataset}', not '${fr}', '${dataset}'`);
  }
  const dataStart = Math.ceil((12 + len) / 4) * 4;
  const { dim, count, paths } = header;
  if (!Array.isArray(paths) || paths.length !== count || buf.length !== dataStart + 4 * dim * count) {
    throw new DataError(file, `size mismatch: header says ${count} x ${dim}, file has ${buf.length} bytes`);
  }
  const out = new Map<string, Float32Array>();
  paths.forEach((p, i) => {
    const e = new Float32Array(dim);
    for (let j = 0; j < dim; j++) e[j] = buf.readFloatLE(dataStart + 4 * (i * dim + j));
    out.set(p, e);
  });
  return out;
}
