/** Small float64 vector maths shared by evaluation, verification and the labeller. */

/**
 * Cosine similarity of `length` values of `a` from `aOffset` and of `b` from `bOffset`, accumulated in float64.
 * Returns NaN when either vector is all zeros (callers decide whether that is an error).
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, aOffset = 0, bOffset = 0, length = a.length - aOffset): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < length; i++) {
    const x = a[aOffset + i] as number;
    const y = b[bOffset + i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : NaN;
}
