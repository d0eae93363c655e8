/**
 * Evaluation outputs: summary.json, edc.csv, one EDC plot (SVG + PNG) per (FR model, dataset), and pauc.md, a
 * table like the papers' (METHOD.md §5.3: rows = methods, columns = datasets × FR models, normalised pAUC, plus the
 * mean over columns). Every file is written atomically.
 */
import * as path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';
import { DiffiqaError, describeError } from '../util/errors.js';
import { formatCsv } from '../util/csv.js';
import type { PaucInterval } from './bootstrap.js';
import type { ThresholdMode } from './edc.js';
import type { EvalResult } from './evaluate.js';
import { renderEdcSvg } from './plot.js';

/** One record of summary.json (NaN values are written as null). */
export interface SummaryRecord {
  method: string;
  fr: string;
  dataset: string;
  threshold_mode: string;
  fmr: number;
  discard_limit: number;
  fnmr0: number;
  pauc: number;
  pauc_norm: number;
  /** The bootstrap confidence interval of pauc_norm, when one was computed (src/eval/bootstrap.ts). */
  pauc_norm_ci?: { lo: number; hi: number; samples: number };
}

/** The summary.json records: one per result and discard limit. */
export function buildSummary(results: readonly EvalResult[]): SummaryRecord[] {
  return results.flatMap((r) =>
    r.paucs.map((p) => ({
      method: r.method,
      fr: r.fr,
      dataset: r.dataset,
      threshold_mode: r.thresholdMode,
      fmr: r.fmr,
      discard_limit: p.limit,
      fnmr0: r.fnmr0,
      pauc: p.pauc,
      pauc_norm: p.paucNorm,
      ...(p.ci ? { pauc_norm_ci: { lo: p.ci.lo, hi: p.ci.hi, samples: p.ci.samples } } : {}),
    })),
  );
}

/** edc.csv: `method,fr,dataset,discard,fnmr,threshold,discard_actual`; discard is nominal (see edc.ts). */
export function buildEdcCsv(results: readonly EvalResult[]): string {
  const header = ['method', 'fr', 'dataset', 'discard', 'fnmr', 'threshold', 'discard_actual'];
  const rows = results.flatMap((r) => r.curve.points.map((p) => [r.method, r.fr, r.dataset, p.discard, p.fnmr, p.threshold, p.discardActual]));
  return formatCsv(header, rows);
}

/** Groups results by (fr, dataset, threshold mode) in first-seen order. */
function groupByColumn(results: readonly EvalResult[]): Map<string, EvalResult[]> {
  const groups = new Map<string, EvalResult[]>();
  for (const r of results) {
    const key = JSON.stringify([r.fr, r.dataset, r.thresholdMode]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

function escapeMd(s: string): string {
  return s.replace(/[|\\`*_]/g, (c) => `\\${c}`).replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A pAUC table at one discard limit and threshold mode: rows = methods, columns = (dataset, FR) pairs, then the mean. */
export interface PaucTable {
  limit: number;
  thresholdMode: ThresholdMode;
  /** Column titles after the method column: `dataset / fr`, then `Mean`. */
  columns: string[];
  /** `intervals[i]`: the bootstrap interval of `values[i]` where one was computed (never for the mean). */
  rows: Array<{ method: string; values: number[]; intervals: Array<PaucInterval | undefined> }>;
}

/**
 * The normalised pAUC tables, one per (threshold mode, discard limit), in first-seen order of methods and columns.
 * A missing or undefined (NaN) cell is NaN and left out of the row mean.
 */
export function buildPaucTables(results: readonly EvalResult[]): PaucTable[] {
  const modes = [...new Set(results.map((r) => r.thresholdMode))];
  const limits = [...new Set(results.flatMap((r) => r.paucs.map((p) => p.limit)))];
  return modes.flatMap((mode) => {
    const ofMode = results.filter((r) => r.thresholdMode === mode);
    const columns = [...new Set(ofMode.map((r) => JSON.stringify([r.fr, r.dataset])))].map((k) => JSON.parse(k) as [string, string]);
    const methods = [...new Set(ofMode.map((r) => r.method))];
    return limits.map((limit) => ({
      limit,
      thresholdMode: mode,
      columns: [...columns.map(([fr, ds]) => `${ds} / ${fr}`), 'Mean'],
      rows: methods.map((method) => {
        const cells = columns.map(([fr, ds]) => ofMode.find((x) => x.method === method && x.fr === fr && x.dataset === ds)?.paucs.find((p) => p.limit === limit));
        const values = cells.map((c) => c?.paucNorm ?? NaN);
        const finite = values.filter(Number.isFinite);
        const mean = finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN;
        return { method, values: [...values, mean], intervals: [...cells.map((c) => c?.ci), undefined] };
      }),
    }));
  });
}

/** A table cell: the value, and its bootstrap interval when there is one ("0.8123 [0.7710, 0.8490]"). */
export function formatPaucCell(value: number, ci?: PaucInterval, digits = 4): string {
  if (!Number.isFinite(value)) return '–';
  const v = value.toFixed(digits);
  return ci && Number.isFinite(ci.lo) ? `${v} [${ci.lo.toFixed(digits)}, ${ci.hi.toFixed(digits)}]` : v;
}

/**
 * pauc.md: one table per threshold mode and discard limit; a missing or undefined (NaN) cell is "–" and left out
 * of the mean; cells with a bootstrap interval show it in brackets.
 */
export function buildPaucMarkdown(results: readonly EvalResult[]): string {
  const fmrs = [...new Set(results.map((r) => r.fmr))].join(', ');
  const withCi = results.some((r) => r.paucs.some((p) => p.ci));
  const samples = Math.max(0, ...results.flatMap((r) => r.paucs.map((p) => p.ci?.samples ?? 0)));
  const out: string[] = ['# Normalised pAUC of the EDC (lower is better)', '', `FMR ${fmrs}; pAUC / (FNMR(0)·limit).`];
  if (withCi) out.push(`In brackets: the 95% bootstrap interval (identities resampled, up to ${samples} samples; src/eval/bootstrap.ts).`);
  out.push('');
  for (const table of buildPaucTables(results)) {
    out.push(`## ${table.thresholdMode} threshold, discard limit ${table.limit}`, '');
    out.push(`| Method | ${table.columns.map(escapeMd).join(' | ')} |`);
    out.push(`|---|${table.columns.map(() => '---:').join('|')}|`);
    for (const row of table.rows) out.push(`| ${escapeMd(row.method)} | ${row.values.map((v, i) => formatPaucCell(v, row.intervals[i])).join(' | ')} |`);
    out.push('');
  }
  return out.join('\n');
}

/** A file-name-safe name. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** Paths written by {@link writeEvalOutputs}. */
export interface EvalOutputFiles {
  summary: string;
  edcCsv: string;
  paucMd: string;
  plots: Array<{ fr: string; dataset: string; svg: string; png: string }>;
}

/**
 * Writes summary.json, edc.csv, pauc.md and `edc_<fr>_<dataset>.{svg,png}` into `outDir` (created if needed).
 * @throws DiffiqaError naming the file if a write or the PNG rendering fails
 */
export async function writeEvalOutputs(outDir: string, results: readonly EvalResult[]): Promise<EvalOutputFiles> {
  const files: EvalOutputFiles = {
    summary: path.join(outDir, 'summary.json'),
    edcCsv: path.join(outDir, 'edc.csv'),
    paucMd: path.join(outDir, 'pauc.md'),
    plots: [],
  };
  writeFileAtomic(files.summary, `${JSON.stringify(buildSummary(results), null, 2)}\n`);
  writeFileAtomic(files.edcCsv, buildEdcCsv(results));
  writeFileAtomic(files.paucMd, buildPaucMarkdown(results));
  for (const group of groupByColumn(results).values()) {
    const { fr, dataset, fmr, thresholdMode } = group[0] as EvalResult;
    const modes = new Set(results.map((r) => r.thresholdMode));
    const base = path.join(outDir, `edc_${safeName(fr)}_${safeName(dataset)}${modes.size > 1 ? `_${thresholdMode}` : ''}`);
    const svg = renderEdcSvg(group, `EDC: ${dataset}, FR ${fr}, FMR ${fmr} (${thresholdMode} threshold)`);
    writeFileAtomic(`${base}.svg`, svg);
    let png: Buffer;
    try {
      png = await sharp(Buffer.from(svg, 'utf8')).png().toBuffer();
    } catch (err) {
      throw new DiffiqaError(`cannot render ${base}.png from SVG: ${describeError(err)}`, 'E_WRITE');
    }
    writeFileAtomic(`${base}.png`, png);
    files.plots.push({ fr, dataset, svg: `${base}.svg`, png: `${base}.png` });
  }
  return files;
}
