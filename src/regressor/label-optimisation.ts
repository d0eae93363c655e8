/**
 * eDifFIQA's label optimisation and losses (METHOD §4.2, §4.3).
 *
 * Data preparation (host side, float64): the global high-quality threshold tau is the score at rank
 * floor(beta*N) of all N scores sorted in descending order; per identity, images with q >= tau are
 * high-quality (HQ); identities with fewer than `minHq` HQ images are dropped with all their images; the centre
 * c_id is the mean of the TEACHER's raw embeddings of the HQ images.
 *
 * Per batch (tensors): d(x) = 1 - cos(f(x), c_id) with f the CURRENT student embedding and no gradient through
 * d; q* = clip(q - eps*d, 0, 1); L_q = mean|q_hat - q*|; L_rc = mean(1 - cos(f(x), e_T(x))); L = theta*L_rc +
 * (1-theta)*L_q.
 */
import { tf } from '../backend/tf.js';
import { DataError } from '../util/errors.js';

/** tau: the score at rank floor(beta*N) (0-based) of the scores sorted in descending order. */
export function computeHqThreshold(scores: readonly number[], beta: number): number {
  if (scores.length === 0) throw new DataError('labels', 'no scores to threshold');
  const sorted = [...scores].sort((a, b) => b - a);
  return sorted[Math.min(sorted.length - 1, Math.floor(beta * sorted.length))] as number;
}

/** The identities kept for eDifFIQA training and their HQ members. */
export interface IdentitySelection {
  tau: number;
  /** Kept identity names, sorted; their position is the centre index. */
  identities: string[];
  /** Per kept identity, the indices (into the input arrays) of its HQ items. */
  hqMembers: number[][];
  /** Indices of all items of kept identities, in input order. */
  keptItems: number[];
  /** Centre index of every input item (-1 when its identity was dropped). */
  centreOf: number[];
}

/** Applies the tau threshold and the `minHq` rule (METHOD §4.2). */
export function selectIdentities(identity: readonly string[], scores: readonly number[], beta: number, minHq: number): IdentitySelection {
  const tau = computeHqThreshold(scores, beta);
  const hq = new Map<string, number[]>();
  scores.forEach((q, i) => {
    if (q < tau) return;
    const id = identity[i] as string;
    if (!hq.has(id)) hq.set(id, []);
    hq.get(id)!.push(i);
  });
  const identities = [...hq.keys()].filter((id) => hq.get(id)!.length >= minHq).sort();
  const index = new Map(identities.map((id, k) => [id, k]));
  const centreOf = identity.map((id) => index.get(id) ?? -1);
  const keptItems = centreOf.flatMap((c, i) => (c >= 0 ? [i] : []));
  return { tau, identities, hqMembers: identities.map((id) => hq.get(id)!), keptItems, centreOf };
}

/** Centres: per identity, the mean (float64) of the given raw embeddings of its HQ members. Returns [K][D]. */
export function computeCentres(hqMembers: readonly number[][], embeddingOf: (item: number) => Float32Array): Float32Array[] {
  return hqMembers.map((members) => {
    const first = embeddingOf(members[0] as number);
    const acc = new Float64Array(first.length);
    for (const m of members) {
      const e = embeddingOf(m);
      for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + (e[j] as number);
    }
    return Float32Array.from(acc, (v) => v / members.length);
  });
}

/** Row-wise cosine similarity of [B,D] tensors (torch cosine_similarity, eps 1e-8). */
export function cosineRows(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(a, b), 1);
    const na = tf.sum(tf.square(a), 1);
    const nb = tf.sum(tf.square(b), 1);
    return tf.div(dot, tf.sqrt(tf.maximum(tf.mul(na, nb), 1e-16))) as tf.Tensor1D;
  });
}

/** Identity in the forward pass, zero gradient (tfjs has no stop_gradient op; torch: no_grad / detach). */
const stopGradientOp = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor),
}));
const stopGradient = <T extends tf.Tensor>(x: T): T => stopGradientOp(x) as T;

/** q* = clip(q - eps * (1 - cos(f, c)), 0, 1), with no gradient through the positional factor. */
export function optimiseLabels(q: tf.Tensor1D, f: tf.Tensor2D, centres: tf.Tensor2D, eps: number): tf.Tensor1D {
  return tf.tidy(() => {
    const d = stopGradient(tf.sub(1, cosineRows(f, centres)));
    return tf.clipByValue(tf.sub(q, tf.mul(d, eps)), 0, 1) as tf.Tensor1D;
  });
}

/** The eDifFIQA losses of one batch. */
export interface EdiffiqaLosses {
  total: tf.Scalar;
  quality: tf.Scalar;
  consistency: tf.Scalar;
}

/**
 * Training losses: L_q = mean|q_hat - q*|, L_rc = mean(1 - cos(f, e_T)), total = theta*L_rc + (1-theta)*L_q.
 * @param qHat [B] predicted quality; q [B] normalised labels; f [B,D] student embeddings; centres [B,D] c_id per
 *   item; teacher [B,D] e_T per item
 */
export function computeEdiffiqaLosses(
  qHat: tf.Tensor1D,
  q: tf.Tensor1D,
  f: tf.Tensor2D,
  centres: tf.Tensor2D,
  teacher: tf.Tensor2D,
  opts: { eps: number; theta: number },
): EdiffiqaLosses {
  return tf.tidy(() => {
    const qStar = optimiseLabels(q, f, centres, opts.eps);
    const quality = tf.mean(tf.abs(tf.sub(qHat, qStar))) as tf.Scalar;
    const consistency = tf.mean(tf.sub(1, cosineRows(f, teacher))) as tf.Scalar;
    const total = tf.add(tf.mul(consistency, opts.theta), tf.mul(quality, 1 - opts.theta)) as tf.Scalar;
    return { total, quality, consistency };
  });
}

/**
 * Validation loss: theta*L_rc + (1-theta)*L1 against q (no label optimisation), the weighting the reference
 * ranks epochs by (eDifFIQA `train.py`, validation loop). METHOD §4.3 writes L1 + theta*L_rc; that line
 * disagrees with the reference code, which we follow because it decides which epoch becomes best.safetensors.
 */
export function computeEdiffiqaValLoss(qHat: tf.Tensor1D, q: tf.Tensor1D, f: tf.Tensor2D, teacher: tf.Tensor2D, theta: number): tf.Scalar {
  return tf.tidy(() => {
    const l1 = tf.mean(tf.abs(tf.sub(qHat, q)));
    const rc = tf.mean(tf.sub(1, cosineRows(f, teacher)));
    return tf.add(tf.mul(rc, theta), tf.mul(l1, 1 - theta)) as tf.Scalar;
  });
}
