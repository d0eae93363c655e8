/**
 * Least-squares 2-D similarity transform (rotation, uniform scale, translation; no reflection) between point
 * sets, and the ArcFace 112x112 5-point template (METHOD §9). For 2-D points this closed form is Umeyama's
 * estimate with the reflection excluded. Coordinates are pixel positions with integer values at pixel
 * centres (OpenCV's warpAffine convention, which the template was defined with).
 */
import { ShapeError } from '../util/errors.js';

/** A point [x, y] in pixels. */
export type Point = readonly [number, number];

/** The affine map x' = a*x - b*y + tx, y' = b*x + a*y + ty (scale sqrt(a^2+b^2), angle atan2(b,a)). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** ArcFace/InsightFace template for 112x112 crops: left eye, right eye, nose tip, left and right mouth corner. */
export const ARCFACE_TEMPLATE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/**
 * The similarity T minimising sum ||dst_i - T(src_i)||^2 (float64).
 * @throws ShapeError when the sets differ in size, have fewer than 2 points, or src is degenerate
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) {
    throw new ShapeError('point sets passed to estimateSimilarity', 'two sets of the same size >= 2', `${src.length} and ${dst.length} points`);
  }
  const n = src.length;
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += (src[i] as Point)[0]; sy += (src[i] as Point)[1];
    dx += (dst[i] as Point)[0]; dy += (dst[i] as Point)[1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let ss = 0, dot = 0, cross = 0;
  for (let i = 0; i < n; i++) {
    const ux = (src[i] as Point)[0] - sx, uy = (src[i] as Point)[1] - sy;
    const vx = (dst[i] as Point)[0] - dx, vy = (dst[i] as Point)[1] - dy;
    ss += ux * ux + uy * uy;
    dot += ux * vx + uy * vy;
    cross += ux * vy - uy * vx;
  }
  if (!(ss > 1e-12)) throw new ShapeError('source points passed to estimateSimilarity', 'points not all equal', 'all points coincide');
  const a = dot / ss;
  const b = cross / ss;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

/** Applies T to a point. */
export function applySimilarity(t: Similarity, [x, y]: Point): [number, number] {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

/** The inverse map. */
export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** Root-mean-square residual of T(src) against dst, in pixels. */
export function similarityResidual(t: Similarity, src: readonly Point[], dst: readonly Point[]): number {
  let s = 0;
  src.forEach((p, i) => {
    const [x, y] = applySimilarity(t, p);
    s += (x - (dst[i] as Point)[0]) ** 2 + (y - (dst[i] as Point)[1]) ** 2;
  });
  return Math.sqrt(s / src.length);
}
