/**
 * Minimal CSV reading and writing for evaluation files: comma-separated, optional double quotes ("" escapes a
 * quote), one record per line (no newlines inside fields), a required header. Enough for path/score tables.
 */
import { DataError } from '../util/errors.js';

/** A parsed CSV: header names (trimmed, lower-cased) and data rows with their 1-based file line numbers. */
export interface CsvTable {
  header: string[];
  rows: Array<{ line: number; fields: string[] }>;
}

/** Splits one CSV line into fields. @throws DataError on an unterminated quote. */
export function splitCsvLine(line: string, file: string, lineNo: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new DataError(`${file}:${lineNo}`, 'unterminated quoted field');
  out.push(cur);
  return out.map((f) => f.trim());
}

/** Parses CSV text with a header; blank lines are skipped; every row must have the header's field count. */
export function parseCsv(text: string, file: string): CsvTable {
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  const rows: CsvTable['rows'] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (raw.trim() === '') continue;
    const fields = splitCsvLine(raw, file, i + 1);
    if (header === null) {
      header = fields.map((f) => f.toLowerCase());
      continue;
    }
    if (fields.length !== header.length) {
      throw new DataError(`${file}:${i + 1}`, `expected ${header.length} fields (${header.join(',')}), got ${fields.length}`);
    }
    rows.push({ line: i + 1, fields });
  }
  if (header === null) throw new DataError(file, 'empty file: a CSV header is required');
  return { header, rows };
}

/** Index of a column by any of its accepted names, or -1. */
export function findColumn(header: readonly string[], names: readonly string[]): number {
  for (const n of names) {
    const i = header.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

/** Quotes a CSV field when it holds a comma, quote or leading/trailing space. */
export function escapeCsvField(value: string): string {
  return /[",\n\r]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Parses a finite float field; DataError names file:line and the column. */
export function parseFiniteField(value: string, column: string, file: string, line: number): number {
  const v = value === '' ? NaN : Number(value);
  if (!Number.isFinite(v)) throw new DataError(`${file}:${line}`, `column '${column}': expected a finite number, got "${value}"`);
  return v;
}
