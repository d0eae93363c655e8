/**
 * Confidence intervals of the normalised pAUC by a seeded cluster bootstrap over identities.
 *
 * Comparisons of one person are not independent (the same images recur in many pairs), so pairs are not resampled
 * one by one: identities are. Each comparison belongs to the identity of its first image; one bootstrap sample
 * draws as many identities as there are, with replacement, and takes every comparison of a drawn identity as many
 * times as it was drawn (counted, not copied: src/eval/edc.ts `prepareEdc`). The EDC (threshold included) and the
 * normalised pAUC are computed again on each sample, for every method on the SAME samples (a paired bootstrap:
 * differences between methods are not blurred by independent draws). The interval is the percentile interval of the samples whose value is defined (a sample
 * without mated errors at zero discard has no normalised pAUC and is left out; `samples` counts the rest).
 */
import { ConfigError } from '../util/errors.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { prepareEdc, type EdcOptions } from './edc.js';
import type { ScoredPair } from './inputs.js';
import { computePauc, normalisePauc } from './pauc.js';

/** Settings of the bootstrap. */
export interface BootstrapOptions {
  /** Number of bootstrap samples (e.g. 1000). */
  samples: number;
  /** Seed: the same seed and inputs give the same intervals. */
  seed: string | number;
  /** Two-sided confidence level (default 0.95). */
  confidence?: number;
  /** The identity of an image key (default {@link identityOfKey}). */
  identityOf?: (key: string) => string;
}

/**
 * The bootstrap seed of one (dataset, FR model) column: each column draws its own samples, and `diffiqa eval` on a
 * published results folder draws the same ones as the experiment that wrote it.
 */
export function columnSeed(seed: string | number, dataset: string, fr: string): string {
  return `${seed}:${dataset}:${fr}`;
}

/** A percentile interval of the normalised pAUC. */
export interface PaucInterval {
  lo: number;
  hi: number;
  /** Bootstrap samples with a defined value. */
  samples: number;
}

/**
 * The identity of a dataset-relative image key: its folder, without a trailing CFP pose folder
 * (`Data/Images/001/frontal/01.jpg` and `001/profile/02.png` are person 001; LFW's `images/A/A_0001.jpg` is A).
 */
export function identityOfKey(key: string): string {
  const parts = key.split('/');
  parts.pop();
  if (parts.length > 0 && /^(frontal|profile)$/.test(parts[parts.length - 1] as string)) parts.pop();
  return parts.join('/');
}

/**
 * The bootstrap samples as comparison indices (with repeats), drawn once so that every method and limit uses the
 * same ones.
 */
export function drawClusterSamples(comparisons: readonly ScoredPair[], opts: BootstrapOptions): Int32Array[] {
  if (!(Number.isInteger(opts.samples) && opts.samples >= 1)) throw new ConfigError('<bootstrap>', 'samples', `expected a positive integer, got ${opts.samples}`);
  const identityOf = opts.identityOf ?? identityOfKey;
  const members = new Map<string, number[]>();
  comparisons.forEach((c, i) => {
    const id = identityOf(c.a);
    const list = members.get(id);
    if (list) list.push(i);
    else members.set(id, [i]);
  });
  const clusters = [...members.values()];
  const rng = new Rng(deriveSeed(opts.seed, 'pauc-bootstrap'));
  const out: Int32Array[] = [];
  for (let s = 0; s < opts.samples; s++) {
    const idx: number[] = [];
    for (let k = 0; k < clusters.length; k++) idx.push(...(clusters[Math.floor(rng.uniform() * clusters.length)] as number[]));
    out.push(Int32Array.from(idx));
  }
  return out;
}

/** The value at quantile p of ascending `v` (linear interpolation between order statistics). */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const x = p * (sorted.length - 1);
  const i = Math.floor(x);
  const j = Math.min(i + 1, sorted.length - 1);
  return (sorted[i] as number) + (x - i) * ((sorted[j] as number) - (sorted[i] as number));
}

/**
 * Percentile intervals of the normalised pAUC at each limit, for one method's pair qualities (index-aligned with
 * `comparisons`) over the given samples.
 */
export function paucIntervals(
  comparisons: readonly ScoredPair[],
  pairQualities: ArrayLike<number>,
  samples: readonly Int32Array[],
  limits: readonly number[],
  edc: EdcOptions,
  confidence = 0.95,
): PaucInterval[] {
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError('<bootstrap>', 'confidence', `expected (0, 1), got ${confidence}`);
  const values: number[][] = limits.map(() => []);
  // The input is sorted once; each sample is then only how often each comparison counts (linear per sample).
  const prepared = prepareEdc({ scores: comparisons.map((c) => c.score), mated: comparisons.map((c) => c.mated), pairQualities }, edc);
  const counts = new Float64Array(comparisons.length);
  for (const idx of samples) {
    counts.fill(0);
    let nMated = 0;
    for (const i of idx) {
      counts[i] = (counts[i] as number) + 1;
      if ((comparisons[i] as ScoredPair).mated) nMated++;
    }
    // A sample of a few identities can miss one kind of comparison; it has no EDC.
    if (nMated === 0 || nMated === idx.length) continue;
    const curve = prepared.curve(counts);
    const fnmr0 = (curve.points[0] as { fnmr: number }).fnmr;
    limits.forEach((limit, l) => {
      const v = normalisePauc(computePauc(curve.points, limit), fnmr0, limit);
      if (Number.isFinite(v)) (values[l] as number[]).push(v);
    });
  }
  const tail = (1 - confidence) / 2;
  return values.map((v) => {
    v.sort((a, b) => a - b);
    return { lo: quantile(v, tail), hi: quantile(v, 1 - tail), samples: v.length };
  });
}
