/** JSON Lines reading shared by the result files (src/pipelines/records.ts) and quality files (src/eval/qualities.ts). */
import { DataError, previewValue } from './errors.js';

/** One parsed line and where it came from (`file:line`, for errors). */
export interface JsonLine {
  obj: Record<string, unknown>;
  where: string;
}

/**
 * The non-blank lines of a JSONL text, each parsed as a JSON object (a trailing CR is JSON whitespace).
 * @throws DataError naming `file:line` for a line that is not JSON or not an object
 */
export function parseJsonObjectLines(text: string, file: string): JsonLine[] {
  const out: JsonLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new DataError(where, 'not valid JSON');
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DataError(where, `expected a JSON object, got ${previewValue(obj)}`);
    out.push({ obj: obj as Record<string, unknown>, where });
  });
  return out;
}
