/**
 * EDC plot as a self-contained SVG (METHOD.md §5.1: non-interpolated step curves, FNMR against discard fraction).
 * Written by hand, no plotting library: axes, ticks, grid, a legend, one step line per method. Every text is
 * XML-escaped, since method, model and dataset names come from the command line.
 */
import type { EvalResult } from './evaluate.js';

const W = 760;
const H = 480;
const M = { left: 70, right: 220, top: 44, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASHES = ['', '6 3', '2 2', '8 3 2 3'];

/** Escapes the five XML special characters. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
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

/**
 * Renders the EDCs of several methods for one (FR model, dataset) as an SVG document.
 * x is each point's actual discarded fraction (edc.ts); a NaN FNMR (no pair left) ends the line.
 */
export function renderEdcSvg(results: readonly EvalResult[], title: string): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xMax = Math.min(1, Math.ceil(Math.max(0.1, ...results.flatMap((r) => r.curve.points.map((p) => p.discard))) * 10 + 1e-9) / 10);
  const finite = results.flatMap((r) => r.curve.points.map((p) => p.fnmr)).filter(Number.isFinite);
  const yMax = niceCeil(Math.max(1e-6, ...finite) * 1.05);
  const sx = (x: number): number => M.left + (Math.min(x, xMax) / xMax) * pw;
  const sy = (y: number): number => M.top + ph - (y / yMax) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left + pw / 2}" y="24" font-size="15" text-anchor="middle">${escapeXml(title)}</text>`,
  ];
  for (let i = 0; i <= Math.round(xMax * 10); i++) {
    const x = sx(i / 10);
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${M.top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x}" y="${M.top + ph + 18}" font-size="12" text-anchor="middle">${formatTick(i / 10)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const y = sy((yMax * i) / 5);
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" font-size="12" text-anchor="end">${formatTick((yMax * i) / 5)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#000000"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 14}" font-size="13" text-anchor="middle">Discard fraction</text>`);
  parts.push(
    `<text x="18" y="${M.top + ph / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 18 ${M.top + ph / 2})">FNMR</text>`,
  );
  results.forEach((r, i) => {
    const style = `stroke="${COLORS[i % COLORS.length]}" stroke-width="2" fill="none"${
      DASHES[Math.floor(i / COLORS.length) % DASHES.length] ? ` stroke-dasharray="${DASHES[Math.floor(i / COLORS.length) % DASHES.length]}"` : ''
    }`;
    const d = buildStepPath(r, sx, sy, xMax);
    if (d !== '') parts.push(`<path d="${d}" ${style}/>`);
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    const p0 = r.paucs[0];
    const label = p0 ? `${r.method} (${Number.isFinite(p0.paucNorm) ? p0.paucNorm.toFixed(3) : 'n/a'})` : r.method;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" ${style}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}" font-size="12">${escapeXml(label)}</text>`);
  });
  if (results[0]?.paucs[0]) {
    const note = `legend: pAUC norm. @ ${results[0].paucs[0].limit}`;
    parts.push(`<text x="${M.left + pw + 14}" y="${M.top + ph}" font-size="11" fill="#555555">${escapeXml(note)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** SVG path of one step curve: each FNMR holds from its x to the next point's x; the last one to xMax. */
function buildStepPath(r: EvalResult, sx: (x: number) => number, sy: (y: number) => number, xMax: number): string {
  const pts = r.curve.points;
  const cmds: string[] = [];
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i] as (typeof pts)[number];
    if (!Number.isFinite(p.fnmr) || p.discardActual >= xMax) break;
    const xEnd = i + 1 < pts.length ? Math.min((pts[i + 1] as typeof p).discardActual, xMax) : xMax;
    cmds.push(`${cmds.length === 0 ? 'M' : 'L'}${sx(p.discardActual).toFixed(2)},${sy(p.fnmr).toFixed(2)}`);
    cmds.push(`L${sx(xEnd).toFixed(2)},${sy(p.fnmr).toFixed(2)}`);
  }
  return cmds.join(' ');
}
