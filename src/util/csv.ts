/**
 * CSV reading and writing for every table diffiqa reads or writes (label and score files, quality files, pair
 * and comparison lists, edc.csv), through csv-parse and csv-stringify: RFC 4180, so a field holding a comma, a
 * double quote or a line break is quoted ("" escapes a quote) and comes back as written. A plain field is written
 * bare, so simple files keep the bytes they always had.
 *
 * Reading is forgiving where files are hand-made: blank lines are skipped, spaces around fields are dropped (a
 * quoted field keeps its own), a UTF-8 BOM is ignored, and lines may end in LF or CRLF, mixed. Fields that start
 * or end with a space are therefore written quoted.
 */
import { CsvError, parse, type InfoRecord, type Options } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { DataError } from './errors.js';

/** A parsed CSV: header names (trimmed, lower-cased) and data rows with their 1-based file line numbers. */
export interface CsvTable {
  header: string[];
  /** `line`: where the record ends (csv-parse's count), which is its own line unless a quoted field spans lines. */
  rows: Array<{ line: number; fields: string[] }>;
}

/** A value to write: a string as it is, a number as `String(n)` writes it (NaN as "NaN"). */
export type CsvValue = string | number;

/** csv-parse's options for the reading rules of the file comment. */
const READ_OPTIONS = {
  bom: true,
  trim: true,
  skip_empty_lines: true,
  record_delimiter: ['\r\n', '\n'],
  relax_column_count: true, // parseCsv counts fields itself, naming the columns in its message
} satisfies Options;

/** Fields the reader would trim: written quoted, so that they read back as written. */
const EDGE_SPACE = /^\s|\s$/;

/**
 * Parses CSV text with a header (see the file comment for what is tolerated); every row must have the header's
 * field count.
 * @throws DataError naming `file:line` for malformed quoting or a wrong field count, `file` for an empty file
 */
export function parseCsv(text: string, file: string): CsvTable {
  let records: Array<{ record: string[]; info: InfoRecord }>;
  try {
    // With `info`, csv-parse returns {record, info} objects, which its types do not model.
    records = parse(text, { ...READ_OPTIONS, info: true }) as unknown as typeof records;
  } catch (err) {
    if (err instanceof CsvError) throw new DataError(`${file}:${err.lines}`, err.message);
    throw err;
  }
  const [first, ...rest] = records;
  if (!first) throw new DataError(file, 'empty file: a CSV header is required');
  const header = first.record.map((f) => f.toLowerCase());
  const rows = rest.map(({ record, info }) => {
    if (record.length !== header.length) {
      throw new DataError(`${file}:${info.lines}`, `expected ${header.length} fields (${header.join(',')}), got ${record.length}`);
    }
    return { line: info.lines, fields: record };
  });
  return { header, rows };
}

/** One CSV record without its line end (for appending), quoted as the file comment says. */
export function formatCsvRecord(fields: readonly CsvValue[]): string {
  return stringify([fields as CsvValue[]], { eof: false, quoted_match: EDGE_SPACE });
}

/** A whole CSV text: `header`, then one record per row, each ending in "\n". */
export function formatCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return stringify([header, ...rows] as CsvValue[][], { quoted_match: EDGE_SPACE });
}

/**
 * `text` without a last record cut short by a kill (half a line, or half of a quoted field that spans lines), for
 * a file appended to record by record. A tail that is not well-formed so far (more than an unclosed quote) means
 * a malformed file: then only a partial last line goes, and the rest is left for parseCsv to report.
 */
export function dropPartialRecord(text: string): string {
  // In RFC 4180 every quote opens, closes or doubles inside a quoted field, so a line end after an even count of
  // quotes ends a record.
  let end = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === '\n' && !quoted) end = i + 1;
  }
  const lastLineEnd = text.lastIndexOf('\n') + 1;
  return text.slice(0, end === lastLineEnd || isRecordSoFar(text.slice(end)) ? end : lastLineEnd);
}

/** Whether `tail` reads as CSV up to, at most, a quoted field left open. */
function isRecordSoFar(tail: string): boolean {
  try {
    parse(tail, READ_OPTIONS);
    return true;
  } catch (err) {
    return err instanceof CsvError && err.code === 'CSV_QUOTE_NOT_CLOSED';
  }
}

/** Index of a column by any of its accepted names, or -1. */
export function findColumn(header: readonly string[], names: readonly string[]): number {
  for (const n of names) {
    const i = header.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

/** Parses a finite float field; DataError names file:line and the column. */
export function parseFiniteField(value: string, column: string, file: string, line: number): number {
  const v = value === '' ? NaN : Number(value);
  if (!Number.isFinite(v)) throw new DataError(`${file}:${line}`, `column '${column}': expected a finite number, got "${value}"`);
  return v;
}
