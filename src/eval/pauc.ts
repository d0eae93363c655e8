/**
 * Partial area under an EDC, METHOD.md §5.2 (fiqat `compute_edc_pauc` convention, not CR-FIQA's trapezoids).
 *
 * The EDC is a step function: FNMR e_i holds from x_i to x_{i+1}, where x_i is the point's ACTUAL discarded fraction
 * (`discardActual`, see edc.ts). pAUC(limit) = Σ e_i·(min(x_{i+1}, limit) − x_i) over points with x_i < limit; the
 * last point's value extends to the limit. Zero-width segments (repeated x, e.g. after a large tie run) contribute
 * nothing and are skipped, so an undefined (NaN) FNMR at x = 1 never poisons a pAUC below 1.
 *
 * Integrating over actual fractions keeps uninformative measures honest: with all qualities equal, every level > 0
 * discards everything (x = 1), so the curve is FNMR(0) on [0, 1) and the normalised pAUC is exactly 1.
 */
import { ConfigError } from '../util/errors.js';

/** A point of a step curve: `discardActual` is the x at which `fnmr` starts to hold. */
export interface StepPoint {
  discardActual: number;
  fnmr: number;
}

/**
 * Step-wise integral of the EDC from 0 to `limit` (float64). The first point must be at x = 0.
 * @throws ConfigError if limit is not in (0, 1] or the points are empty, unsorted or do not start at 0
 */
export function computePauc(points: readonly StepPoint[], limit: number): number {
  if (!(limit > 0 && limit <= 1)) throw new ConfigError('<options>', 'discardLimit', `expected (0, 1], got ${limit}`);
  if (points.length === 0 || points[0]?.discardActual !== 0) {
    throw new ConfigError('<edc>', 'points', 'the EDC must start with a point at discard 0');
  }
  let area = 0;
  for (let i = 0; i < points.length; i++) {
    const x = (points[i] as StepPoint).discardActual;
    if (x >= limit) break;
    const next = i + 1 < points.length ? (points[i + 1] as StepPoint).discardActual : limit;
    if (next < x) throw new ConfigError('<edc>', 'points', `discard fractions decrease at point ${i + 1}`);
    const width = Math.min(next, limit) - x;
    if (width > 0) area += (points[i] as StepPoint).fnmr * width;
  }
  return area;
}

/**
 * pAUC relative to never discarding: pAUC / (FNMR(0)·limit), so "no improvement" is 1 and lower is better
 * (the inferred normalisation of the published tables, METHOD.md §5.2, UNCONFIRMED there).
 * Returns NaN when FNMR(0) is 0 or NaN: with no errors at all there is nothing to reduce and the ratio is undefined.
 */
export function normalisePauc(pauc: number, fnmr0: number, limit: number): number {
  if (!(fnmr0 > 0)) return NaN;
  return pauc / (fnmr0 * limit);
}
