/**
 * LFW-style k-fold verification accuracy: for each fold, the threshold is chosen on the other folds (the one
 * maximising their accuracy) and applied to the held-out fold; the result is the mean (and std) over folds.
 */
import { cosineSimilarity as cosine } from '../util/vector.js';
import { DataError } from '../util/errors.js';

/** A compared pair: similarity (higher = more similar), ground truth, 1-based fold. */
export interface VerificationPair {
  score: number;
  mated: boolean;
  fold: number;
}

/** Result of `computeVerificationAccuracy`. */
export interface VerificationResult {
  mean: number;
  std: number;
  perFold: number[];
  thresholds: number[];
}

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const c = cosine(a, b);
  return Number.isNaN(c) ? 0 : c;
}

/**
 * The threshold t maximising accuracy of "score > t means mated" on `pairs` (exact: every midpoint between
 * consecutive distinct scores is a candidate).
 */
export function selectBestThreshold(pairs: readonly VerificationPair[]): number {
  const s = [...pairs].sort((a, b) => a.score - b.score);
  // Threshold below everything: all predicted mated.
  let correct = s.filter((p) => p.mated).length;
  let best = correct;
  let bestT = (s[0]?.score ?? 0) - 1e-6;
  for (let i = 0; i < s.length; i++) {
    const p = s[i] as VerificationPair;
    correct += p.mated ? -1 : 1; // p moves to "non-mated"
    const next = s[i + 1];
    if (next && next.score === p.score) continue;
    if (correct > best) {
      best = correct;
      bestT = next ? (p.score + next.score) / 2 : p.score + 1e-6;
    }
  }
  return bestT;
}

/** k-fold accuracy with thresholds selected on the complementary folds. */
export function computeVerificationAccuracy(pairs: readonly VerificationPair[]): VerificationResult {
  const folds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
  if (folds.length < 2) throw new DataError('pairs', `need at least 2 folds, got ${folds.length}`);
  const perFold: number[] = [];
  const thresholds: number[] = [];
  for (const f of folds) {
    const t = selectBestThreshold(pairs.filter((p) => p.fold !== f));
    const test = pairs.filter((p) => p.fold === f);
    perFold.push(test.filter((p) => p.score > t === p.mated).length / test.length);
    thresholds.push(t);
  }
  const mean = perFold.reduce((a, b) => a + b, 0) / perFold.length;
  const std = Math.sqrt(perFold.reduce((a, b) => a + (b - mean) ** 2, 0) / perFold.length);
  return { mean, std, perFold, thresholds };
}
