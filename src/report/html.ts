/**
 * The run report: ONE self-contained HTML file (inline CSS, images as data: URIs, plots as inline SVG, no
 * script and no external URL), so that it can be mailed, archived or opened offline and shows the same thing
 * everywhere. A Content-Security-Policy meta tag forbids scripts and remote loads as a second line of defence.
 *
 * Every name shown (file names, score names, captions, table cells, chart titles) is HTML-escaped: file names
 * come from the file system and may hold markup such as `<img src=x onerror=alert(1)>.jpg`.
 */
import { lineChartSvg, escapeXml, type ChartSeries } from '../eval/plot.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DiffiqaError } from '../util/errors.js';
import { assertSafeSvg } from './svg-check.js';

/** Image types a face or restoration may have (they go into a data: URI). */
export type ReportImageMime = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

/** One face in the grid: the (thumbnail) image bytes and its scores. */
export interface ReportFace {
  /** Dataset-relative path, shown as the caption. */
  path: string;
  /** Encoded image bytes (PNG/JPEG/...). Keep them small (thumbnails): they are embedded base64. */
  image: Uint8Array;
  /** Type of `image`; default: sniffed from its first bytes. */
  mime?: ReportImageMime;
  /** Named scores (quality, label terms, ...), shown under the face. */
  scores: Record<string, number>;
  note?: string;
}

/** A training or evaluation curve, drawn by the shared chart writer (src/eval/plot.ts). */
export interface ReportCurve {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
}

/** Everything a report shows; every section but the header is optional. */
export interface ReportData {
  title: string;
  /** When the report was made (an ISO string or a Date). */
  generatedAt: string | Date;
  /** Key facts: backend, timings, dataset, counts. */
  facts: Array<{ label: string; value: string | number }>;
  faces?: ReportFace[];
  /** Score that orders the face grid (descending, best first); default the first score of the first face. */
  primaryScore?: string;
  /** Diffusion restoration grids (PNG). */
  restorations?: Array<{ caption: string; png: Uint8Array }>;
  curves?: ReportCurve[];
  /** EDC plots already rendered by src/eval (renderEdcSvg); checked by an allowlist before inlining. */
  edc?: Array<{ title: string; svg: string }>;
  /** Tables (pAUC, ...); numbers are shown with 4 decimals, a non-finite number as '–'. */
  tables?: Array<{ title: string; columns: string[]; rows: Array<Array<string | number>> }>;
  /** Inputs that were skipped, and why. */
  skipped?: Array<{ path: string; reason: string }>;
  notes?: string[];
}

const MIMES: readonly ReportImageMime[] = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

const CSS = `
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#1a1a1a;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.generated{color:#666;font-size:13px;margin-bottom:16px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.facts th{width:220px}
.faces{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
.face{margin:0;border:1px solid #ddd;padding:6px;background:#fafafa}
.face img{display:block;width:128px;height:128px;object-fit:contain;margin:0 auto;background:#eee}
.face figcaption{font-size:11px;word-break:break-all;margin-top:4px}
.face .rank{color:#888}.face .note{color:#a33}
.face table{font-size:11px;margin-top:4px;width:100%}.face td{border:none;padding:0 2px}
.plot svg{max-width:100%;height:auto;border:1px solid #eee}
.restoration img{max-width:100%;image-rendering:pixelated;border:1px solid #eee}
`;

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return escapeXml(s);
}

/** A table cell: numbers with 4 decimals (non-finite as '–'), strings escaped. */
function formatCell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? v.toFixed(4) : '–';
  return escapeHtml(v);
}

/** The image type from the file's magic bytes, or null. */
export function sniffImageMime(bytes: Uint8Array): ReportImageMime | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  return null;
}

/** A data: URI for image bytes; the type must be one of the allowed ones. */
function dataUri(bytes: Uint8Array, mime: string | undefined, what: string): string {
  const type = mime ?? sniffImageMime(bytes);
  if (!type || !MIMES.includes(type as ReportImageMime)) {
    throw new DiffiqaError(`${what}: image type ${type ? `'${type}'` : 'unknown'} cannot be embedded; expected ${MIMES.join(', ')}`, 'E_REPORT');
  }
  return `data:${type};base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

function section(title: string, body: string): string {
  return `<section>\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

function renderFacts(facts: ReportData['facts']): string {
  const rows = facts.map((f) => `<tr><th>${escapeHtml(f.label)}</th><td>${formatFact(f.value)}</td></tr>`);
  return `<table class="facts">\n${rows.join('\n')}\n</table>`;
}

function formatFact(v: string | number): string {
  return typeof v === 'number' ? escapeHtml(String(Number.isInteger(v) ? v : Number(v.toPrecision(6)))) : escapeHtml(v);
}

/** Faces sorted by `key` descending; faces without a finite value go last, ties keep their order. */
export function sortFaces(faces: readonly ReportFace[], key: string): ReportFace[] {
  const val = (f: ReportFace): number => {
    const v = f.scores[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : -Infinity;
  };
  return faces.map((f, i) => ({ f, i })).sort((a, b) => val(b.f) - val(a.f) || a.i - b.i).map(({ f }) => f);
}

function renderFaces(faces: readonly ReportFace[], primary: string): string {
  const cards = sortFaces(faces, primary).map((f, rank) => {
    const scores = Object.entries(f.scores)
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${formatCell(v)}</td></tr>`)
      .join('');
    const note = f.note ? `<div class="note">${escapeHtml(f.note)}</div>` : '';
    return (
      `<figure class="face"><img src="${dataUri(f.image, f.mime, f.path)}" alt="${escapeHtml(f.path)}">` +
      `<figcaption><span class="rank">#${rank + 1}</span> ${escapeHtml(f.path)}${note}<table>${scores}</table></figcaption></figure>`
    );
  });
  const intro = `<p>${faces.length} faces, sorted by <b>${escapeHtml(primary)}</b> (best first).</p>`;
  return `${intro}\n<div class="faces">\n${cards.join('\n')}\n</div>`;
}

function renderTable(t: NonNullable<ReportData['tables']>[number]): string {
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const rows = t.rows.map(
    (r) => `<tr>${r.map((v) => `<td${typeof v === 'number' ? ' class="num"' : ''}>${formatCell(v)}</td>`).join('')}</tr>`,
  );
  return `<h3>${escapeHtml(t.title)}</h3>\n<table>\n${head}\n${rows.join('\n')}\n</table>`;
}

function renderSkipped(skipped: NonNullable<ReportData['skipped']>): string {
  const rows = skipped.map((s) => `<tr><td>${escapeHtml(s.path)}</td><td>${escapeHtml(s.reason)}</td></tr>`);
  return `<p>${skipped.length} inputs were skipped.</p>\n<table class="skipped">\n<tr><th>Path</th><th>Reason</th></tr>\n${rows.join('\n')}\n</table>`;
}

/** Optional sections in display order; each returns '' when it has nothing to show. */
function renderSections(data: ReportData): string[] {
  const out: string[] = [section('Summary', renderFacts(data.facts))];
  const faces = data.faces ?? [];
  if (faces.length > 0) {
    const primary = data.primaryScore ?? Object.keys(faces[0]?.scores ?? {})[0] ?? '';
    out.push(section('Faces', renderFaces(faces, primary)));
  }
  if (data.restorations?.length) {
    const figs = data.restorations.map(
      (r) => `<figure class="restoration"><img src="${dataUri(r.png, 'image/png', r.caption)}" alt="${escapeHtml(r.caption)}"><figcaption>${escapeHtml(r.caption)}</figcaption></figure>`,
    );
    out.push(section('Restorations', figs.join('\n')));
  }
  if (data.curves?.length) {
    out.push(section('Training curves', data.curves.map((c) => `<div class="plot">${lineChartSvg(c)}</div>`).join('\n')));
  }
  if (data.edc?.length) {
    const plots = data.edc.map((e) => {
      assertSafeSvg(e.svg, e.title);
      return `<h3>${escapeHtml(e.title)}</h3>\n<div class="plot">${e.svg.replace(/^\s*<\?xml[^<>]*\?>/, '')}</div>`;
    });
    out.push(section('Error-versus-discard curves', plots.join('\n')));
  }
  if (data.tables?.length) out.push(section('Tables', data.tables.map(renderTable).join('\n')));
  if (data.skipped?.length) out.push(section('Skipped inputs', renderSkipped(data.skipped)));
  if (data.notes?.length) out.push(section('Notes', `<ul>\n${data.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ul>`));
  return out;
}

/**
 * Renders the report as one self-contained HTML document.
 * @throws DiffiqaError for an image whose type cannot be embedded or an EDC SVG with non-allowlisted markup
 * @example renderReport({ title: 'label run', generatedAt: new Date(), facts: [{ label: 'backend', value: 'native' }] })
 */
export function renderReport(data: ReportData): string {
  const when = data.generatedAt instanceof Date ? data.generatedAt.toISOString() : data.generatedAt;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(data.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(data.title)}</h1>`,
    `<div class="generated">Generated ${escapeHtml(when)} by diffiqa</div>`,
    ...renderSections(data),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Renders the report and writes it atomically to `file` (a kill never leaves half a report). */
export function writeReport(file: string, data: ReportData): void {
  writeFileAtomic(file, renderReport(data));
}
