import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ResultWriter } from '../../src/pipelines/records.js';
import { buildResultsReport, renderReport } from '../../src/report/index.js';
import { DataError } from '../../src/util/errors.js';

describe('buildResultsReport', () => {
  it('gathers faces, failures, training curves and restoration grids of a run', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'report-build-'));
    const data = path.join(root, 'data');
    fs.mkdirSync(path.join(data, 'id1'), { recursive: true });
    for (const [i, name] of ['a.png', 'b.png', 'c.png'].entries()) {
      await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 50 * i, g: 90, b: 10 } } }).png().toFile(path.join(data, 'id1', name));
    }
    const results = path.join(root, 'labels.csv');
    new ResultWriter(results, ['score', 'flip']).append(
      [0.2, 0.9, 0.5].map((q, i) => ({ path: `id1/${'abc'[i]}.png`, values: { score: q, flip: 1 - q } })),
      [{ path: 'id1/broken.jpg', error: 'id1/broken.jpg: not a readable image' }],
    );
    const run = path.join(root, 'run');
    fs.mkdirSync(path.join(run, 'samples'), { recursive: true });
    fs.writeFileSync(path.join(run, 'metrics.jsonl'), '{"step":1,"loss":0.5}\n{"step":2,"loss":0.25}\n');
    for (const step of [2, 4, 6, 8]) {
      await sharp({ create: { width: 30, height: 10, channels: 3, background: { r: step, g: 0, b: 0 } } }).png().toFile(path.join(run, 'samples', `step-000000${step}.png`));
    }
    const report = await buildResultsReport({ results, root: data, runDir: run, limit: 1, facts: [{ label: 'backend', value: 'cpu' }] });
    expect(report.facts.slice(0, 1)).toEqual([{ label: 'backend', value: 'cpu' }]);
    expect(report.facts.find((f) => f.label === 'images failed')?.value).toBe(1);
    expect(report.facts.find((f) => f.label === 'faces shown')?.value).toBe('2 of 3 (best and worst)');
    expect(report.faces?.map((f) => f.path)).toEqual(['id1/b.png', 'id1/a.png']);
    expect(report.skipped).toEqual([{ path: 'id1/broken.jpg', reason: 'id1/broken.jpg: not a readable image' }]);
    expect(report.restorations?.map((r) => r.caption.split(' ')[0])).toEqual(['run/samples/step-0000004.png', 'run/samples/step-0000006.png', 'run/samples/step-0000008.png']);
    expect(report.curves?.map((c) => c.yLabel)).toEqual(['loss']);
    const html = renderReport(report);
    expect((html.match(/<img /g) ?? []).length).toBe(5);
    await expect(buildResultsReport({ results: path.join(root, 'none.csv'), root: data })).rejects.toThrow(DataError);
  });
});
