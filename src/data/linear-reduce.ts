/**
 * The shrink `decodeImage(file, { size: 'native', maxSide })` applies to a large photo, reproduced in plain
 * TypeScript so that the browser scorer (src/serve/page) gets the very same pixels as Node without sharp.
 *
 * sharp 0.34's `resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' })` runs
 * libvips 8.17's `vips_resize`: one shrink factor for both axes (the larger of width/maxSide and height/maxSide),
 * then `reducev` and `reduceh` in that order, each an 8-bit in, 8-bit out convolution with a normalised triangle
 * of `2*rint(shrink)+1` taps whose weights are tabulated at 1/64-pixel offsets as 12-bit fixed-point integers
 * (truncated), summed exactly in integers, rounded by +2048 >> 12. Edges repeat the border pixel. Every step
 * below follows that arithmetic, including the double-precision walk of the sampling position, so the result
 * is equal byte for byte (test/data/linear-reduce.test.ts checks it against sharp).
 *
 * What it does not reproduce: factors of 4 and more, where libvips first box-shrinks by an integer factor
 * (`shrinkv`/`shrinkh`; here the triangle simply widens), and sharp's JPEG shrink-on-load (from a factor of 3 a JPEG
 * is decoded at half size by libjpeg's scaled IDCT). `shrinkPlan` says when either applies, so that a caller can
 * tell its user the pixels are close to Node's but not equal.
 */
import { ShapeError } from '../util/errors.js';

/** libvips' sub-pixel steps of the tabulated masks (VIPS_TRANSFORM_SCALE) and the weight scale (VIPS_INTERPOLATE_SCALE). */
const SUBPIXELS = 64;
const WEIGHT_SHIFT = 12;
const WEIGHT_ONE = 1 << WEIGHT_SHIFT;
/** `vips_resize`'s reducing gap: an axis shrunk by gap*k or more is first box-shrunk by k. */
const GAP = 2;

/** An 8-bit interleaved image. */
export interface Uint8Image {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** The shrink sharp's `fit: 'inside'` + `withoutEnlargement` resize applies to fit `maxSide` (1: none). */
export function fitInsideShrink(width: number, height: number, maxSide: number): number {
  return Math.max(1, Math.max(width / maxSide, height / maxSide));
}

/** How `reduceToFit` will shrink an image, and whether the result equals sharp's byte for byte. */
export interface ShrinkPlan {
  /** 1 when the image already fits. */
  shrink: number;
  width: number;
  height: number;
  exact: boolean;
  /** Why not exact. */
  reason?: string;
}

/**
 * The shrink `decodeImage(…, { size: 'native', maxSide })` applies to a `width` x `height` image, the size it
 * yields, and whether `reduceToFit` reproduces it exactly (`isJpeg`: the file is a JPEG, which sharp may decode
 * at a reduced scale).
 */
export function shrinkPlan(width: number, height: number, maxSide: number, isJpeg: boolean): ShrinkPlan {
  const shrink = fitInsideShrink(width, height, maxSide);
  if (shrink === 1) return { shrink, width, height, exact: true };
  const v = planAxis(height, 1 / Math.max(1 / shrink, 1 / height));
  const h = planAxis(width, 1 / Math.max(1 / shrink, 1 / width));
  const plan = { shrink, width: h.out, height: v.out };
  // sharp with fastShrinkOnLoad (its default) lets libjpeg decode at half size or less from a factor of 3.
  if (isJpeg && shrink >= 3) return { ...plan, exact: false, reason: `sharp decodes a JPEG shrunk ${shrink.toFixed(2)}x at a reduced scale (libjpeg), which a browser cannot` };
  if (v.boxShrink || h.boxShrink) return { ...plan, exact: false, reason: `libvips box-shrinks a ${shrink.toFixed(2)}x reduction by an integer factor first, which is not reproduced` };
  return { ...plan, exact: true };
}

/** `rint`: round half to even, as C's default rounding mode. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The 65 fixed-point masks of `n` taps for a reduce by `shrink` (templates.h `calculate_coefficients`, linear). */
function linearMasks(n: number, shrink: number): Int32Array[] {
  const masks: Int32Array[] = [];
  for (let t = 0; t <= SUBPIXELS; t++) {
    const x = t / SUBPIXELS;
    const half = x + n / 2 - 1;
    const c = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const xp = Math.abs((i - half) / shrink);
      c[i] = xp < 1 ? 1 - xp : 0;
      sum += c[i] as number;
    }
    // (short)(c * 4096): truncation, and the weights are never negative.
    masks.push(Int32Array.from(c, (v) => Math.trunc((v / sum) * WEIGHT_ONE)));
  }
  return masks;
}

/** Where one axis of `size` pixels goes under `reducev`/`reduceh` by `shrink`. */
interface AxisPlan {
  out: number;
  /** libvips would box-shrink this axis by an integer factor first (not reproduced). */
  boxShrink: boolean;
  taps: number;
  /** Pixels repeated before the first one (`vips_embed`). */
  pad: number;
  /** The input position of output 0's first tap, before the walk (`-offset` folded in). */
  start: number;
  masks: Int32Array[];
}

function planAxis(size: number, shrink: number): AxisPlan {
  const out = Math.floor(size / shrink + 0.5); // VIPS_ROUND_UINT
  const boxShrink = Math.floor(size / out / GAP) > 1;
  const extra = out * shrink - size;
  const offset = (1 + extra) / 2 - 1;
  const taps = 2 * rint(shrink) + 1;
  return { out, boxShrink, taps, pad: Math.ceil(taps / 2) - 1, start: 0.5 * shrink - 0.5 - offset, masks: linearMasks(taps, shrink) };
}

/**
 * The mask and first input index of each output position: the sampling position walks in steps of `shrink` from
 * `start` (libvips adds the step in double precision rather than multiplying, and so do we).
 */
function walk(plan: AxisPlan, shrink: number): { first: Int32Array; mask: Int32Array } {
  const first = new Int32Array(plan.out);
  const mask = new Int32Array(plan.out);
  let p = plan.start;
  for (let o = 0; o < plan.out; o++) {
    const sub = Math.trunc(p * SUBPIXELS * 2) & (SUBPIXELS * 2 - 1);
    first[o] = Math.trunc(p);
    mask[o] = (sub + 1) >> 1;
    p += shrink;
  }
  return { first, mask };
}

function round12(sum: number): number {
  const v = (sum + (WEIGHT_ONE >> 1)) >> WEIGHT_SHIFT;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** `reducev`: rows of `img` reduced by `shrink`. */
function reduceRows(img: Uint8Image, shrink: number): Uint8Image {
  const plan = planAxis(img.height, shrink);
  const { first, mask } = walk(plan, shrink);
  const rowLen = img.width * img.channels;
  const out = new Uint8Array(plan.out * rowLen);
  const rows = new Int32Array(plan.taps);
  for (let o = 0; o < plan.out; o++) {
    const k = plan.masks[mask[o] as number] as Int32Array;
    for (let i = 0; i < plan.taps; i++) rows[i] = Math.min(Math.max((first[o] as number) + i - plan.pad, 0), img.height - 1) * rowLen;
    const q = o * rowLen;
    for (let e = 0; e < rowLen; e++) {
      let sum = 0;
      for (let i = 0; i < plan.taps; i++) sum += (k[i] as number) * (img.data[(rows[i] as number) + e] as number);
      out[q + e] = round12(sum);
    }
  }
  return { width: img.width, height: plan.out, channels: img.channels, data: out };
}

/** `reduceh`: columns of `img` reduced by `shrink`. */
function reduceColumns(img: Uint8Image, shrink: number): Uint8Image {
  const plan = planAxis(img.width, shrink);
  const { first, mask } = walk(plan, shrink);
  const ch = img.channels;
  const out = new Uint8Array(plan.out * img.height * ch);
  const cols = new Int32Array(plan.taps);
  for (let o = 0; o < plan.out; o++) {
    const k = plan.masks[mask[o] as number] as Int32Array;
    for (let i = 0; i < plan.taps; i++) cols[i] = Math.min(Math.max((first[o] as number) + i - plan.pad, 0), img.width - 1) * ch;
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width * ch;
      const q = (y * plan.out + o) * ch;
      for (let c = 0; c < ch; c++) {
        let sum = 0;
        for (let i = 0; i < plan.taps; i++) sum += (k[i] as number) * (img.data[row + (cols[i] as number) + c] as number);
        out[q + c] = round12(sum);
      }
    }
  }
  return { width: plan.out, height: img.height, channels: ch, data: out };
}

/**
 * Shrinks an 8-bit image to fit inside `maxSide` x `maxSide` as `decodeImage(…, { size: 'native', maxSide })` does
 * after decoding (sharp's linear-kernel resize; see the file comment): byte for byte where `shrinkPlan` says
 * `exact`. An image that fits is returned as is.
 * @throws ShapeError when `img.data` does not hold width x height x channels bytes
 */
export function reduceToFit(img: Uint8Image, maxSide: number): Uint8Image {
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new ShapeError('image passed to reduceToFit', `${img.width}x${img.height}x${img.channels} = ${img.width * img.height * img.channels} bytes`, `${img.data.length} bytes`);
  }
  const shrink = fitInsideShrink(img.width, img.height, maxSide);
  if (shrink === 1) return img;
  // sharp passes the scale 1/shrink; vips_resize reduces by its inverse (equal to `shrink` up to rounding).
  const scale = 1 / shrink;
  const vscale = Math.max(scale, 1 / img.height);
  const hscale = Math.max(scale, 1 / img.width);
  let out = img;
  if (vscale < 1) out = reduceRows(out, 1 / vscale);
  if (hscale < 1) out = reduceColumns(out, 1 / hscale);
  return out;
}
