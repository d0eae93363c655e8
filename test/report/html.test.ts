import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { lineChartSvg, niceTicks, renderEdcSvg } from '../../src/eval/plot.js';
import type { EvalResult } from '../../src/eval/evaluate.js';
import {
  assertSafeSvg,
  curvesFromMetrics,
  loadReportFaces,
  readMetricsCurves,
  renderReport,
  sortFaces,
  writeReport,
  type ReportData,
  type ReportFace,
} from '../../src/report/index.js';
import { train } from '../../src/train/trainer.js';
import { DataError, DiffiqaError } from '../../src/util/errors.js';
import { createTinyTask, tinyTrainOptions } from '../robustness/fixtures/tiny-task.js';

const EVIL = '<img src=x onerror=alert(1)>.jpg';

async function png(r: number, g: number, b: number, size = 8): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

/** Every absolute or protocol-relative URL in the text, except the SVG namespace name. */
function externalUrls(html: string): string[] {
  return (html.match(/(?:https?:|ftp:)?\/\/[^\s"'<>)]+/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
}

function edcResult(method: string): EvalResult {
  const pts = [0, 0.1, 0.2, 0.3].map((d, i) => ({ discard: d, discardActual: d, fnmr: 0.3 - i * 0.05, threshold: 0.5 }));
  return {
    method, fr: 'toy', dataset: 'world', thresholdMode: 'fixed', fmr: 0.01, fnmr0: 0.3,
    curve: { points: pts } as unknown as EvalResult['curve'],
    paucs: [{ limit: 0.2, pauc: 0.05, paucNorm: 0.83 }] as EvalResult['paucs'],
  };
}

describe('renderReport', () => {
  it('escapes every shown name, embeds images as data URIs and references nothing external', async () => {
    const data: ReportData = {
      title: `report ${EVIL}`,
      generatedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
      facts: [{ label: 'backend', value: 'native' }, { label: `count ${EVIL}`, value: 3 }],
      faces: [
        { path: EVIL, image: await png(200, 0, 0), scores: { score: 0.5, [EVIL]: 1 }, note: EVIL },
        { path: 'b.png', image: await png(0, 200, 0), mime: 'image/png', scores: { score: 0.9 } },
      ],
      restorations: [{ caption: EVIL, png: await png(0, 0, 200) }],
      curves: [{ title: EVIL, xLabel: EVIL, yLabel: 'loss', series: [{ name: EVIL, points: [[1, 2], [2, 1]] }] }],
      edc: [{ title: EVIL, svg: renderEdcSvg([edcResult(EVIL)], EVIL) }],
      tables: [{ title: EVIL, columns: ['method', EVIL], rows: [[EVIL, 0.123456789], ['nan', NaN]] }],
      skipped: [{ path: EVIL, reason: `bad <b>file</b>` }],
      notes: [EVIL],
    };
    const html = renderReport(data);
    expect(html).not.toContain(EVIL);
    expect(html).not.toMatch(/<img src=x/i);
    expect(html).not.toMatch(/<script/i);
    // No event-handler attribute on any tag (attribute values, which may quote the name, blanked first).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*\son[a-z]+=/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;.jpg');
    expect(html).not.toContain('<b>file</b>');
    expect(externalUrls(html)).toEqual([]);
    // One <img> per face and restoration, every one a base64 data URI of the bytes given.
    const srcs = [...html.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1] as string);
    expect(srcs).toHaveLength(3);
    for (const s of srcs) expect(s).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from((srcs[0] as string).split(',')[1] as string, 'base64')).toEqual(data.faces?.[1]?.image && Buffer.from(data.faces[1].image));
    expect(html).toContain('0.1235');
    expect(html).toContain('<td class="num">–</td>');
    expect(html).toContain('2026-01-02T03:04:05.000Z');
    expect(html).toContain("Content-Security-Policy");
  });

  it('sorts faces by the primary score, best first, with missing or NaN scores last', async () => {
    const img = await png(1, 2, 3);
    const faces: ReportFace[] = [
      { path: 'a', image: img, scores: { q: 0.2, s: 9 } },
      { path: 'b', image: img, scores: { q: NaN, s: 1 } },
      { path: 'c', image: img, scores: { q: 0.7, s: 5 } },
      { path: 'd', image: img, scores: { s: 7 } },
      { path: 'e', image: img, scores: { q: 0.7, s: 2 } },
    ];
    expect(sortFaces(faces, 'q').map((f) => f.path)).toEqual(['c', 'e', 'a', 'b', 'd']);
    const html = renderReport({ title: 't', generatedAt: 'now', facts: [], faces, primaryScore: 's' });
    const order = [...html.matchAll(/<span class="rank">#\d+<\/span> (\w)/g)].map((m) => m[1]);
    expect(order).toEqual(['a', 'd', 'c', 'e', 'b']);
  });

  it('refuses an image type that cannot be embedded and an SVG with active or external content', () => {
    const base = { title: 't', generatedAt: 'now', facts: [] };
    expect(() => renderReport({ ...base, faces: [{ path: 'x.txt', image: Buffer.from('hello'), scores: {} }] })).toThrow(/x\.txt: image type unknown/);
    const bad = [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><image href="https://example.com/a.png"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://e.com/#x)"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><text>a <b</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject></foreignObject></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"></svg><img src=x>',
      '<div></div>',
    ];
    for (const svg of bad) {
      expect(() => assertSafeSvg(svg, 'p'), svg).toThrow(DiffiqaError);
      expect(() => renderReport({ ...base, edc: [{ title: 'p', svg }] }), svg).toThrow(/SVG for 'p' cannot be inlined/);
    }
    expect(() => assertSafeSvg(renderEdcSvg([edcResult(EVIL), edcResult('b')], EVIL), 'ok')).not.toThrow();
    expect(() => assertSafeSvg(lineChartSvg({ title: EVIL, xLabel: '&', yLabel: '"', series: [] }), 'ok')).not.toThrow();
  });

  it('writes atomically, leaving no temp file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const file = path.join(dir, 'r.html');
    writeReport(file, { title: 'x', generatedAt: 'now', facts: [{ label: 'a', value: 1.23456789 }] });
    expect(fs.readFileSync(file, 'utf8')).toContain('<td>1.23457</td>');
    expect(fs.readdirSync(dir)).toEqual(['r.html']);
  });
});

describe('lineChartSvg', () => {
  it('maps data points to the plot box linearly and leaves gaps at non-finite values', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, 0], [5, 10], [10, NaN], [10, 5]] }], xDomain: [0, 10], yDomain: [0, 10] });
    // Plot box: x 70..540 (760-70-220+70), y 44..424 (480-44-56+44).
    const d = /<path d="([^"]+)"/.exec(svg)?.[1];
    expect(d).toBe('M70.00,424.00 L305.00,44.00 M540.00,234.00');
  });

  it('chooses nice ticks covering the data', () => {
    expect(niceTicks(0.13, 0.91).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 37).domain).toEqual([0, 40]);
    expect(niceTicks(3, 3).ticks.length).toBeGreaterThan(1);
  });
});

describe('training curves from metrics.jsonl', () => {
  it('makes one chart per metric, loss first with a bias-corrected EMA, ignoring a half-written last line', () => {
    const text = [
      { step: 1, loss: 4, grad_norm: 1, sec: 0.5, time: 'x' },
      { step: 2, loss: 2, grad_norm: 2, sec: 0.5, time: 'x', fid: 3 },
      { step: 3, loss: 1, grad_norm: 3, sec: 0.5, time: 'x' },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n{"step": 4, "lo';
    const curves = curvesFromMetrics(text, { smoothing: 0.5 });
    expect(curves.map((c) => c.yLabel)).toEqual(['loss', 'grad_norm', 'sec', 'fid']);
    expect(curves[0]?.series[0]?.points).toEqual([[1, 4], [2, 2], [3, 1]]);
    // EMA 0.5 with bias correction: 4; (1+1)/0.75 = 2.6667; (1.0+0.5)/0.875 = 1.7143
    const ema = curves[0]?.series[1]?.points.map((p) => p[1]) as number[];
    expect(ema[0]).toBeCloseTo(4, 12);
    expect(ema[1]).toBeCloseTo((0.5 * 2 + 0.25 * 4) / 0.75, 12);
    expect(ema[2]).toBeCloseTo((0.5 * 1 + 0.25 * 2 + 0.125 * 4) / 0.875, 12);
    expect(curves[3]?.series[0]?.points).toEqual([[2, 3]]);
    expect(() => curvesFromMetrics('{"step":1,"loss":1}\nnot json\n{"step":2,"loss":1}\n', { source: 'm.jsonl' })).toThrow(/m\.jsonl:2: not valid JSON/);
    expect(() => readMetricsCurves('/nonexistent/metrics.jsonl')).toThrow(DataError);
  });
});

describe('training curves from a real run', () => {
  it('reads the metrics.jsonl the trainer writes: one point per step for loss, grad_norm and sec', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-train-'));
    const task = createTinyTask();
    const losses: number[] = [];
    const r = await train(task, tinyTrainOptions(dir, 5, { onStep: (_, l) => losses.push(l) }));
    r.optimizer.dispose();
    r.ema?.dispose();
    task.dispose();
    const curves = readMetricsCurves(path.join(dir, 'metrics.jsonl'));
    expect(curves.map((c) => c.yLabel)).toEqual(['loss', 'grad_norm', 'sec']);
    expect(curves[0]?.series[0]?.points).toEqual(losses.map((l, i) => [i + 1, l]));
    const html = renderReport({ title: 'run', generatedAt: 'now', facts: [], curves });
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    expect((html.match(/<path d="M/g) ?? []).length).toBe(4); // loss, its EMA, grad_norm, sec
  });
});

describe('loadReportFaces', () => {
  it('makes PNG thumbnails no larger than thumbSize and records unreadable images as skipped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faces-'));
    fs.writeFileSync(path.join(dir, 'big.png'), await png(10, 20, 30, 300));
    fs.writeFileSync(path.join(dir, 'bad.jpg'), 'not an image');
    const rows = [
      { path: 'big.png', values: { score: 0.3 } },
      { path: 'bad.jpg', values: { score: 0.9 } },
      { path: 'gone.png', values: { score: 0.1 } },
    ];
    const { faces, skipped } = await loadReportFaces(rows, { root: dir, thumbSize: 64 });
    expect(faces.map((f) => f.path)).toEqual(['big.png']);
    const meta = await sharp(faces[0]?.image as Uint8Array).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    expect(skipped.map((s) => s.path)).toEqual(['bad.jpg', 'gone.png']);
    expect(skipped[0]?.reason).toMatch(/not a readable image/);
    expect(skipped[1]?.reason).toMatch(/cannot read file/);
    const some = await loadReportFaces(
      [0.5, 0.1, 0.9, 0.3, 0.7].map((v, i) => ({ path: 'big.png', values: { score: v, i } })),
      { root: dir, limit: 1 },
    );
    expect(some.faces.map((f) => f.scores.score)).toEqual([0.9, 0.1]);
  });
});
