/** Test helpers for the degradation tests: deterministic images and float64 reference loops. */
import { type RgbImage, createImage } from '../../../src/data/image.js';
import { Rng } from '../../../src/util/rng.js';

/** An image with uniform random values from a seeded Rng. */
export function randomImage(width: number, height: number, seed = 1): RgbImage {
  const img = createImage(width, height);
  const rng = new Rng(seed);
  for (let i = 0; i < img.data.length; i++) img.data[i] = rng.uniform();
  return img;
}

/** A constant image. */
export function constantImage(width: number, height: number, value: number): RgbImage {
  const img = createImage(width, height);
  img.data.fill(value);
  return img;
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Mean squared error. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}
