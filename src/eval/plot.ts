/**
 * Line charts as self-contained SVG, written by hand (no plotting library): axes, ticks, grid, a legend, one
 * line per series. One implementation serves every plot of the project: EDCs (METHOD §5.1: non-interpolated step
 * curves, FNMR against discard fraction) and training curves (loss against step). Every text is XML-escaped,
 * since series, model, dataset and file names come from the command line or the file system.
 */
import type { EvalResult } from './evaluate.js';

const W = 760;
const H = 480;
const M = { left: 70, right: 220, top: 44, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 3', '2 2', '8 3 2 3'];

/** Escapes the five XML special characters (the result is also safe HTML text and attribute content). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** One named line: points `[x, y]` in drawing order; a non-finite y leaves a gap. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

/** What {@link lineChartSvg} draws. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /**
   * `line` (default) joins the points; `step` holds each y from its x to the next point's x, the last one to the
   * right edge (EDCs, METHOD §5.1), and stops at the first non-finite y or x past the right edge.
   */
  mode?: 'line' | 'step';
  /** Axis ranges; default: the data's range widened to nice tick values. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** Tick positions; default about 6 nice values across the domain. */
  xTicks?: readonly number[];
  yTicks?: readonly number[];
  /** Legend text per series (default the series name). */
  legend?: readonly string[];
  /** A small grey line under the legend. */
  note?: string;
}

/** A "nice" upper bound (1, 2, 2.5 or 5 times a power of ten) at or above v. */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v - 1e-12) return m * p;
  return 10 * p;
}

/** Tick label without floating noise (0.30000000000000004 -> 0.3). */
function formatTick(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** About `count` evenly spaced nice ticks covering [lo, hi]; returns the widened domain and the ticks. */
export function niceTicks(lo: number, hi: number, count = 5): { domain: [number, number]; ticks: number[] } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { domain: [0, 1], ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] };
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const step = niceCeil((hi - lo) / count);
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; first + i * step <= last + step * 1e-9; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return { domain: [first, last], ticks };
}

/** The x and y domains and ticks of a chart: given ones, else nice ones around the finite data. */
function resolveAxes(chart: LineChart): { xd: readonly [number, number]; yd: readonly [number, number]; xt: readonly number[]; yt: readonly number[] } {
  const pts = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const auto = (vals: number[]) => niceTicks(vals.length ? Math.min(...vals) : 0, vals.length ? Math.max(...vals) : 1);
  const ax = auto(pts.map((p) => p[0]));
  const ay = auto(pts.map((p) => p[1]));
  const xd = chart.xDomain ?? ax.domain;
  const yd = chart.yDomain ?? ay.domain;
  const inside = (d: readonly [number, number]) => (v: number) => v >= d[0] - 1e-12 && v <= d[1] + 1e-12;
  return {
    xd,
    yd,
    xt: chart.xTicks ?? (chart.xDomain ? niceTicks(xd[0], xd[1]).ticks.filter(inside(xd)) : ax.ticks),
    yt: chart.yTicks ?? (chart.yDomain ? niceTicks(yd[0], yd[1]).ticks.filter(inside(yd)) : ay.ticks),
  };
}

/** Stroke attributes of series i: ten colours, then dashed variants. */
function seriesStyle(i: number): string {
  const dash = DASHES[Math.floor(i / COLORS.length) % DASHES.length];
  return `stroke="${COLORS[i % COLORS.length]}" stroke-width="2" fill="none"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
}

/**
 * Renders a line chart as an SVG document (760x480 px, legend on the right). Texts are escaped; numbers are
 * the only unescaped content.
 * @example lineChartSvg({ title: 'loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'loss', points: [[1, 0.9], [2, 0.5]] }] })
 */
export function lineChartSvg(chart: LineChart): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const { xd, yd, xt, yt } = resolveAxes(chart);
  const sx = (x: number): number => M.left + ((Math.min(Math.max(x, xd[0]), xd[1]) - xd[0]) / (xd[1] - xd[0])) * pw;
  const sy = (y: number): number => M.top + ph - ((y - yd[0]) / (yd[1] - yd[0])) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left + pw / 2}" y="24" font-size="15" text-anchor="middle">${escapeXml(chart.title)}</text>`,
  ];
  for (const v of xt) {
    const x = sx(v);
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 18}" font-size="12" text-anchor="middle">${formatTick(v)}</text>`);
  }
  for (const v of yt) {
    const y = sy(v);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" font-size="12" text-anchor="end">${formatTick(v)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#000000"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 14}" font-size="13" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(
    `<text x="18" y="${M.top + ph / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${M.top + ph / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((s, i) => {
    const style = seriesStyle(i);
    const d = chart.mode === 'step' ? buildStepPath(s.points, sx, sy, xd[1]) : buildLinePath(s.points, sx, sy, xd, yd);
    if (d !== '') parts.push(`<path d="${d}" ${style}/>`);
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" ${style}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}" font-size="12">${escapeXml(chart.legend?.[i] ?? s.name)}</text>`);
  });
  if (chart.note) {
    parts.push(`<text x="${M.left + pw + 14}" y="${M.top + ph}" font-size="11" fill="#555555">${escapeXml(chart.note)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Polyline through the finite points inside the domain; anything else starts a new segment. */
function buildLinePath(
  pts: LineChart['series'][number]['points'],
  sx: (x: number) => number,
  sy: (y: number) => number,
  xd: readonly [number, number],
  yd: readonly [number, number],
): string {
  const cmds: string[] = [];
  let pen = false;
  for (const [x, y] of pts) {
    const ok = Number.isFinite(x) && Number.isFinite(y) && x >= xd[0] && x <= xd[1] && y >= yd[0] && y <= yd[1];
    if (!ok) {
      pen = false;
      continue;
    }
    cmds.push(`${pen ? 'L' : 'M'}${sx(x).toFixed(2)},${sy(y).toFixed(2)}`);
    pen = true;
  }
  return cmds.join(' ');
}

/** Step path: each y holds from its x to the next point's x; the last one to xMax. */
function buildStepPath(
  pts: LineChart['series'][number]['points'],
  sx: (x: number) => number,
  sy: (y: number) => number,
  xMax: number,
): string {
  const cmds: string[] = [];
  for (let i = 0; i < pts.length; i++) {
    const [x, y] = pts[i] as readonly [number, number];
    if (!Number.isFinite(y) || x >= xMax) break;
    const xEnd = i + 1 < pts.length ? Math.min((pts[i + 1] as readonly [number, number])[0], xMax) : xMax;
    cmds.push(`${cmds.length === 0 ? 'M' : 'L'}${sx(x).toFixed(2)},${sy(y).toFixed(2)}`);
    cmds.push(`L${sx(xEnd).toFixed(2)},${sy(y).toFixed(2)}`);
  }
  return cmds.join(' ');
}

/**
 * Renders the EDCs of several methods for one (FR model, dataset) as an SVG document.
 * x is each point's actual discarded fraction (edc.ts); a NaN FNMR (no pair left) ends the line.
 */
export function renderEdcSvg(results: readonly EvalResult[], title: string): string {
  const xMax = Math.min(1, Math.ceil(Math.max(0.1, ...results.flatMap((r) => r.curve.points.map((p) => p.discard))) * 10 + 1e-9) / 10);
  const finite = results.flatMap((r) => r.curve.points.map((p) => p.fnmr)).filter(Number.isFinite);
  const yMax = niceCeil(Math.max(1e-6, ...finite) * 1.05);
  const p0 = results[0]?.paucs[0];
  return lineChartSvg({
    title,
    xLabel: 'Discard fraction',
    yLabel: 'FNMR',
    mode: 'step',
    series: results.map((r) => ({ name: r.method, points: r.curve.points.map((p) => [p.discardActual, p.fnmr] as const) })),
    xDomain: [0, xMax],
    yDomain: [0, yMax],
    xTicks: Array.from({ length: Math.round(xMax * 10) + 1 }, (_, i) => i / 10),
    yTicks: Array.from({ length: 6 }, (_, i) => (yMax * i) / 5),
    legend: results.map((r) => {
      const p = r.paucs[0];
      return p ? `${r.method} (${Number.isFinite(p.paucNorm) ? p.paucNorm.toFixed(3) : 'n/a'})` : r.method;
    }),
    note: p0 ? `legend: pAUC norm. @ ${p0.limit}` : undefined,
  });
}
