/**
 * Training curves from a trainer's metrics.jsonl (src/train/trainer.ts: one line per optimiser step,
 * `{step, loss, grad_norm, sec, time, ...evaluation metrics}`). One chart per metric against the step; the loss
 * chart also carries an exponential moving average, since per-step diffusion losses are noisy (METHOD §1.5:
 * every step draws its own t and noise).
 */
import * as fs from 'node:fs';
import { DataError } from '../util/errors.js';
import type { ReportCurve } from './html.js';

/** Options of {@link curvesFromMetrics}. */
export interface MetricsCurveOptions {
  /** EMA factor for the smoothed loss, in [0,1); 0 = no smoothed series. Default 0.9. */
  smoothing?: number;
  /** Keys that are not metrics (never plotted). Default step, time. */
  ignore?: readonly string[];
  /** Where the text came from, for messages. */
  source?: string;
}

/** Per-key [step, value] series of metrics.jsonl text, keys in first-seen order; a half-written last line is ignored. */
export function parseMetricsJsonl(text: string, source = 'metrics.jsonl', ignore: readonly string[] = ['step', 'time']): Map<string, Array<[number, number]>> {
  const series = new Map<string, Array<[number, number]>>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // A kill can leave half a last line (the trainer drops it on resume); anything earlier is a real error.
      if (lines.slice(i + 1).some((l) => l.trim())) throw new DataError(`${source}:${i + 1}`, 'not valid JSON');
      return;
    }
    const step = rec.step;
    if (typeof step !== 'number' || !Number.isFinite(step)) throw new DataError(`${source}:${i + 1}`, 'missing numeric "step"');
    for (const [k, v] of Object.entries(rec)) {
      if (ignore.includes(k) || typeof v !== 'number') continue;
      const pts = series.get(k) ?? [];
      pts.push([step, v]);
      series.set(k, pts);
    }
  });
  return series;
}

/** Exponential moving average with bias correction (as TensorBoard's smoothing), skipping non-finite values. */
function smooth(points: ReadonlyArray<readonly [number, number]>, beta: number): Array<[number, number]> {
  let avg = 0;
  let n = 0;
  return points.map(([x, y]) => {
    if (!Number.isFinite(y)) return [x, y];
    avg = beta * avg + (1 - beta) * y;
    n += 1;
    return [x, avg / (1 - beta ** n)];
  });
}

/** Turns metrics.jsonl text into report curves: loss (+ EMA) first, then one chart per other metric. */
export function curvesFromMetrics(text: string, opts: MetricsCurveOptions = {}): ReportCurve[] {
  const source = opts.source ?? 'metrics.jsonl';
  const series = parseMetricsJsonl(text, source, opts.ignore);
  const beta = opts.smoothing ?? 0.9;
  if (!(beta >= 0 && beta < 1)) throw new DataError(source, `smoothing must be in [0, 1), got ${beta}`);
  const keys = [...series.keys()].sort((a, b) => Number(b === 'loss') - Number(a === 'loss'));
  return keys.map((key) => {
    const points = series.get(key) as Array<[number, number]>;
    const lines = [{ name: key, points }];
    if (key === 'loss' && beta > 0) lines.push({ name: `loss (EMA ${beta})`, points: smooth(points, beta) });
    return { title: `${key} per step (${source})`, xLabel: 'step', yLabel: key, series: lines };
  });
}

/** Reads a run's metrics.jsonl and returns its curves. @throws DataError when the file cannot be read */
export function readMetricsCurves(file: string, opts: Omit<MetricsCurveOptions, 'source'> = {}): ReportCurve[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DataError(file, `cannot read metrics: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return curvesFromMetrics(text, { ...opts, source: file });
}
