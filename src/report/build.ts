/**
 * Assembles ReportData from what the pipelines leave on disk: a labeller or scorer result file (+ its errors
 * file), the images it refers to, a training run's metrics.jsonl and restoration grids (`<run>/samples/*.png`,
 * src/train/diffusion-task.ts). The CLI adds its own facts (backend, timings) and renders with writeReport.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readErrors, readResults } from '../pipelines/records.js';
import { DataError } from '../util/errors.js';
import { loadReportFaces } from './faces.js';
import type { ReportData } from './html.js';
import { readMetricsCurves } from './metrics.js';

/** Options of {@link buildResultsReport}. */
export interface ResultsReportOptions {
  /** Result file (.csv/.jsonl) of `diffiqa label` or `diffiqa score`. */
  results: string;
  /** Folder the result paths are relative to (the labeller's `--data`); absolute paths are kept. */
  root: string;
  title?: string;
  /** Extra facts (backend, timings) shown first. */
  facts?: ReportData['facts'];
  /** Ranking score; default the first column. */
  primaryScore?: string;
  /** Show only the best and worst `limit` faces. Default 50 (100 thumbnails). */
  limit?: number;
  /** A training run folder: its metrics.jsonl becomes curves, its `samples/*.png` (newest 3) restorations. */
  runDir?: string;
}

/** The newest `n` restoration grids of a run, oldest first. */
export function readRestorations(runDir: string, n = 3): NonNullable<ReportData['restorations']> {
  const dir = path.join(runDir, 'samples');
  if (!fs.existsSync(dir)) return [];
  const files = fs.readdirSync(dir).filter((f) => /\.png$/i.test(f)).sort().slice(-n);
  return files.map((f) => ({ caption: `${path.basename(runDir)}/samples/${f} (rows: degraded, restored, original)`, png: fs.readFileSync(path.join(dir, f)) }));
}

/**
 * Builds the report data of a labelling or scoring run.
 * @throws DataError when the result file is missing or unreadable
 */
export async function buildResultsReport(opts: ResultsReportOptions): Promise<ReportData> {
  if (!fs.existsSync(opts.results)) throw new DataError(opts.results, 'no such result file');
  const rows = readResults(opts.results);
  const errors = readErrors(opts.results);
  const { faces, skipped } = await loadReportFaces(rows, { root: opts.root, limit: opts.limit ?? 50, primaryScore: opts.primaryScore });
  const metrics = opts.runDir ? path.join(opts.runDir, 'metrics.jsonl') : null;
  const shown = faces.length < rows.length ? `${faces.length} of ${rows.length} (best and worst)` : `${faces.length}`;
  return {
    title: opts.title ?? `diffiqa report: ${path.basename(opts.results)}`,
    generatedAt: new Date(),
    facts: [
      ...(opts.facts ?? []),
      { label: 'results', value: opts.results },
      { label: 'images scored', value: rows.length },
      { label: 'images failed', value: errors.length },
      { label: 'faces shown', value: shown },
    ],
    faces,
    primaryScore: opts.primaryScore,
    restorations: opts.runDir ? readRestorations(opts.runDir) : undefined,
    curves: metrics && fs.existsSync(metrics) ? readMetricsCurves(metrics) : undefined,
    skipped: [...errors.map((e) => ({ path: e.path, reason: e.error })), ...skipped],
  };
}
