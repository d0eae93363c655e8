/**
 * Resumable per-image result files, shared by the labeller and the scorer. Results go to CSV or JSONL (chosen by
 * the extension), one row per image, appended and fsynced once per batch, so a killed run loses at most the batch
 * in flight and never leaves half a row that counts. Failures go to a sibling `<out>.errors.jsonl` with the path
 * and reason. A rerun reads both files and skips every image already done (succeeded or failed).
 *
 * The format version sits in a sidecar, `<out>.meta.json` ({format, formatVersion, diffiqaVersion}), not in the
 * rows: a version line in a CSV would be read as a header or a bad row by every CSV reader (spreadsheets,
 * pandas, diffiqa before versioning), and a header object in JSONL as a row without a path, while the rows
 * stay exactly as before, so a rerun still just appends and `diffiqa merge` still joins rows. A result file
 * without a sidecar (such as the shipped models/training-labels.csv) is version 1; a newer one is refused.
 */
import * as fs from 'node:fs';
import { appendLinesDurable, writeFileAtomic } from '../util/atomic.js';
import { DataError, previewValue } from '../util/errors.js';
import { parseJsonObjectLines } from '../util/jsonl.js';
import { FORMATS, checkFormatVersion, versionStamp } from '../util/format-version.js';
import { dropPartialRecord, formatCsv, formatCsvRecord, parseCsv, type CsvValue } from '../util/csv.js';

/** One result row: the image key (dataset-relative path) and named numeric columns. */
export interface ResultRow {
  path: string;
  values: Record<string, number>;
}

/** A failed image. */
export interface ErrorRow {
  path: string;
  error: string;
}

/** The file holding errors for a result file. */
export function errorFileFor(out: string): string {
  return `${out}.errors.jsonl`;
}

/** The format-version sidecar of a result file (see the file comment for why a sidecar). */
export function metaFileFor(out: string): string {
  return `${out}.meta.json`;
}

/**
 * The format version of result file `out` (and its errors file): 1 without a sidecar.
 * @throws FormatVersionError when the sidecar records a newer version; DataError when it is not a JSON object
 */
export function resultsFormatVersion(out: string): number {
  const file = metaFileFor(out);
  if (!fs.existsSync(file)) return checkFormatVersion('results', file, undefined, undefined);
  let meta: unknown;
  try {
    meta = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(file, 'not valid JSON (the format-version sidecar of a result file)');
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new DataError(file, `expected a JSON object, got ${previewValue(meta)}`);
  const { formatVersion, diffiqaVersion } = meta as Record<string, unknown>;
  return checkFormatVersion('results', file, formatVersion, diffiqaVersion);
}

function isJsonl(file: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(file);
}

/** An append-only result file with a fixed column order. */
export class ResultWriter {
  private readonly jsonl: boolean;

  constructor(
    readonly file: string,
    readonly columns: readonly string[],
  ) {
    this.jsonl = isJsonl(file);
    if (!this.jsonl && !/\.csv$/i.test(file)) throw new DataError(file, 'output must end in .csv, .jsonl or .ndjson');
    resultsFormatVersion(file); // before touching anything: a newer file is refused, not appended to
    // Rows appended to a file without a sidecar (written before versioning) are version 1 too: the sidecar is
    // added then. A future version 2 writer must not append to a version 1 file without converting it.
    if (!fs.existsSync(metaFileFor(file))) {
      writeFileAtomic(metaFileFor(file), `${JSON.stringify({ format: FORMATS.results.name, ...versionStamp('results') })}\n`);
    }
    this.repairTail();
    // A missing or empty CSV (a first write that failed, e.g. on a full disk) gets its header now.
    if (!this.jsonl && (!fs.existsSync(file) || fs.statSync(file).size === 0)) {
      appendLinesDurable(file, [formatCsvRecord(['path', ...columns])]);
    }
  }

  /** Appends a batch of rows and errors durably (one write + fsync per file). */
  append(rows: readonly ResultRow[], errors: readonly ErrorRow[] = []): void {
    appendLinesDurable(this.file, rows.map((r) => this.format(r)));
    appendLinesDurable(
      errorFileFor(this.file),
      errors.map((e) => JSON.stringify({ path: e.path, error: e.error })),
    );
  }

  private format(r: ResultRow): string {
    if (this.jsonl) {
      const obj: Record<string, unknown> = { path: r.path };
      for (const c of this.columns) obj[c] = r.values[c];
      return JSON.stringify(obj);
    }
    return formatCsvRecord(resultCsvFields(r, this.columns));
  }

  /**
   * Drops a partial last record (from a kill mid-write on a filesystem without atomic appends). In the CSV a
   * quoted path may span lines, so its records end at the last line end outside quotes.
   */
  private repairTail(): void {
    for (const file of [this.file, errorFileFor(this.file)]) {
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const kept = file === this.file && !this.jsonl ? dropPartialRecord(text) : text.slice(0, text.lastIndexOf('\n') + 1);
      if (kept.length < text.length) writeFileAtomic(file, kept);
    }
  }
}

/** A result row as CSV fields: the path, then each column's value; a non-finite or missing value is empty. */
function resultCsvFields(r: ResultRow, columns: readonly string[]): CsvValue[] {
  return [r.path, ...columns.map((c) => formatValue(r.values[c]))];
}

function formatValue(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : String(v);
}

/**
 * A whole result CSV (header `path,<columns>`, then `rows`) in ResultWriter's format, for a file written in one
 * go, such as a subset of a label file.
 */
export function formatResultsCsv(columns: readonly string[], rows: readonly ResultRow[]): string {
  return formatCsv(['path', ...columns], rows.map((r) => resultCsvFields(r, columns)));
}

/**
 * Reads a result file (CSV or JSONL) written by ResultWriter; a missing file reads as empty. Values are numbers
 * (an empty CSV field or a JSON null, as written for a non-finite value, reads as NaN).
 * @throws DataError naming file:line for a line that is not a JSON object with a string "path" and numeric values
 * @throws FormatVersionError when the file's sidecar (`<file>.meta.json`) records a newer format version
 */
export function readResults(file: string): ResultRow[] {
  if (!fs.existsSync(file)) return [];
  resultsFormatVersion(file);
  const text = readText(file);
  if (text.trim() === '') return [];
  if (isJsonl(file)) return parseJsonObjectLines(text, file).map(({ obj, where }) => resultFromJson(obj, where));
  const table = parseCsv(text, file);
  const [first, ...cols] = table.header;
  if (first !== 'path') throw new DataError(file, `first column must be 'path', got '${first}'`);
  return table.rows.map(({ fields }) => ({
    path: fields[0] as string,
    // ResultWriter writes a non-finite or missing value as an empty field: it reads back as NaN, not Number('') = 0.
    values: Object.fromEntries(cols.map((c, i) => [c, fields[i + 1] === '' ? NaN : Number(fields[i + 1])])),
  }));
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function resultFromJson(obj: Record<string, unknown>, where: string): ResultRow {
  const { path, ...rest } = obj;
  if (typeof path !== 'string') throw new DataError(where, 'missing "path"');
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v !== 'number' && v !== null) throw new DataError(where, `column '${k}': expected a number, got ${previewValue(v)}`);
    Object.defineProperty(values, k, { value: v ?? NaN, enumerable: true, writable: true, configurable: true });
  }
  return { path, values };
}

/**
 * Reads the errors file of a result file.
 * @throws DataError naming file:line for a line that is not a JSON object with string "path" and "error"
 */
export function readErrors(out: string): ErrorRow[] {
  const file = errorFileFor(out);
  if (!fs.existsSync(file)) return [];
  resultsFormatVersion(out);
  return parseJsonObjectLines(readText(file), file).map(({ obj, where }) => {
    if (typeof obj.path !== 'string' || typeof obj.error !== 'string') throw new DataError(where, 'expected {"path": string, "error": string}');
    return { path: obj.path, error: obj.error };
  });
}

/**
 * Paths already handled (succeeded or failed) in a previous run of the same output. Open the ResultWriter
 * first: it trims a half-written last line that would otherwise make this read fail.
 */
export function finishedPaths(out: string): Set<string> {
  return new Set([...readResults(out).map((r) => r.path), ...readErrors(out).map((e) => e.path)]);
}

/**
 * Merges shard outputs into one file sorted by path. The same path in two parts with different values is an
 * error naming both files; identical duplicates collapse. Errors files are merged alongside.
 */
export function mergeResults(parts: readonly string[], out: string): { rows: number; errors: number } {
  const rows = new Map<string, { row: ResultRow; from: string }>();
  let columns: string[] | null = null;
  const errors = new Map<string, ErrorRow>();
  for (const part of parts) {
    if (!fs.existsSync(part)) throw new DataError(part, 'no such result file');
    for (const row of readResults(part)) {
      const cols = Object.keys(row.values);
      columns ??= cols;
      if (cols.join(',') !== columns.join(',')) throw new DataError(part, `columns ${cols} differ from ${columns}`);
      const prev = rows.get(row.path);
      if (prev && JSON.stringify(prev.row.values) !== JSON.stringify(row.values)) {
        throw new DataError(part, `'${row.path}' also appears in ${prev.from} with different values`);
      }
      rows.set(row.path, { row, from: part });
    }
    for (const e of readErrors(part)) errors.set(e.path, e);
  }
  for (const p of rows.keys()) errors.delete(p);
  const sorted = [...rows.values()].map((r) => r.row).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // Build the merged pair under temporary names, then rename over the targets: a kill leaves the old output.
  const tmp = `${out}.merge-${process.pid}${out.slice(out.lastIndexOf('.'))}`;
  for (const f of [tmp, errorFileFor(tmp), metaFileFor(tmp)]) fs.rmSync(f, { force: true });
  new ResultWriter(tmp, columns ?? []).append(sorted, [...errors.values()]);
  if (!fs.existsSync(errorFileFor(tmp))) fs.writeFileSync(errorFileFor(tmp), '');
  // The merged rows are written now, in this version's format: the output gets a fresh sidecar.
  fs.renameSync(metaFileFor(tmp), metaFileFor(out));
  fs.renameSync(errorFileFor(tmp), errorFileFor(out));
  fs.renameSync(tmp, out);
  return { rows: sorted.length, errors: errors.size };
}

/** Parses `K/N` (1-based shard K of N). */
export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new DataError('--shard', `expected K/N with 1 <= K <= N, got "${spec}"`);
  }
  return { index, count };
}

/**
 * The variables `--shard auto/N` takes its shard from, in this order: the 0-based pod index of a Kubernetes
 * Indexed Job and the task id of a Slurm job array, which deploy/slurm-label.sh starts at 0 (`--array=0-(N-1)`).
 */
export const SHARD_INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

/**
 * Resolves `auto/N` to `K/N` with K = index + 1, the index read from `env` (0-based: see SHARD_INDEX_VARIABLES);
 * a spec not starting with `auto` is returned as given, for parseShard. The caller passes the environment (the
 * CLI passes `process.env`), so that nothing below the CLI reads it.
 * @example resolveShardSpec('auto/4', { JOB_COMPLETION_INDEX: '2' }) // '3/4'
 * @throws DataError naming --shard when N is not a positive integer, neither variable is set, the two are set to
 *   different values, or the index is not an integer in 0..N-1
 */
export function resolveShardSpec(spec: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!spec.trim().startsWith('auto')) return spec;
  const m = /^auto\/(\d+)$/.exec(spec.trim());
  const count = m ? Number(m[1]) : NaN;
  if (!(count >= 1)) throw new DataError('--shard', `expected auto/N with N >= 1 (the number of shards), got "${spec}"`);
  const [first, second] = SHARD_INDEX_VARIABLES.filter((v) => (env[v] ?? '').trim() !== '').map((v) => ({ name: v, value: (env[v] as string).trim() }));
  if (!first) {
    throw new DataError('--shard', `${spec} takes the 0-based shard index from ${SHARD_INDEX_VARIABLES.join(' or ')}, and neither is set; outside a Kubernetes Indexed Job or Slurm job array, pass K/N`);
  }
  if (second && second.value !== first.value) {
    throw new DataError('--shard', `${spec}: ${first.name}=${first.value} and ${second.name}=${second.value} disagree; unset one`);
  }
  const index = /^\d+$/.test(first.value) ? Number(first.value) : NaN;
  if (!(index < count)) {
    throw new DataError('--shard', `${spec}: ${first.name}=${first.value} is not a 0-based index in 0..${count - 1} (Kubernetes: completions ${count}; Slurm: --array=0-${count - 1})`);
  }
  return `${index + 1}/${count}`;
}

/** The items of shard K/N: every N-th item of the sorted list, starting at K-1. */
export function selectShard<T>(sortedItems: readonly T[], shard: { index: number; count: number }): T[] {
  return sortedItems.filter((_, i) => i % shard.count === shard.index - 1);
}
