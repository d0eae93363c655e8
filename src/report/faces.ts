/**
 * Face thumbnails for the report from a result file's rows (labeller or scorer output: a dataset-relative path
 * and named scores). Each image is decoded with the project's decoder (src/data/image-io.ts) and re-encoded as a
 * small PNG, so a report of many faces stays a few hundred KB whatever the originals weigh. An image that cannot
 * be read becomes a skipped entry with its reason; it never stops the report.
 */
import * as path from 'node:path';
import { decodeImage, encodeImage } from '../data/image-io.js';
import { describeError } from '../util/errors.js';
import type { ReportData, ReportFace } from './html.js';

/** A result row: image key and scores (ResultRow of src/pipelines/records.ts). */
export interface ScoredImage {
  path: string;
  values: Record<string, number>;
}

/** Options of {@link loadReportFaces}. */
export interface LoadFacesOptions {
  /** Folder the row paths are relative to (absolute paths are used as they are). */
  root: string;
  /** Longest side of a thumbnail in pixels. Default 128. */
  thumbSize?: number;
  /** Keep only the best `limit` and worst `limit` rows by `primaryScore` (default: all rows). */
  limit?: number;
  /** Score that ranks the rows for `limit`; default the first column. */
  primaryScore?: string;
}

/** The rows `limit` keeps: the best and the worst by `key`, best first, each once. */
function pickRows(rows: readonly ScoredImage[], key: string, limit: number | undefined): ScoredImage[] {
  const score = (r: ScoredImage): number => (Number.isFinite(r.values[key]) ? (r.values[key] as number) : -Infinity);
  const sorted = [...rows].sort((a, b) => score(b) - score(a));
  if (limit === undefined || sorted.length <= 2 * limit) return sorted;
  return [...sorted.slice(0, limit), ...sorted.slice(sorted.length - limit)];
}

/** Thumbnails and scores of `rows`; unreadable images go to `skipped` with their reason. */
export async function loadReportFaces(
  rows: readonly ScoredImage[],
  opts: LoadFacesOptions,
): Promise<{ faces: ReportFace[]; skipped: NonNullable<ReportData['skipped']> }> {
  const key = opts.primaryScore ?? Object.keys(rows[0]?.values ?? {})[0] ?? '';
  const side = opts.thumbSize ?? 128;
  const faces: ReportFace[] = [];
  const skipped: NonNullable<ReportData['skipped']> = [];
  for (const row of pickRows(rows, key, opts.limit)) {
    const file = path.isAbsolute(row.path) ? row.path : path.join(opts.root, row.path);
    try {
      const img = await decodeImage(file, { size: 'native', maxSide: side, minSide: 1 }, row.path);
      faces.push({ path: row.path, image: await encodeImage(img, { format: 'png' }), mime: 'image/png', scores: row.values });
    } catch (err) {
      skipped.push({ path: row.path, reason: `no thumbnail: ${describeError(err)}` });
    }
  }
  return { faces, skipped };
}
