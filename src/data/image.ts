/**
 * The in-memory image type shared by decoding, degradation and batching: RGB, float32, HWC, values in [0,1].
 * Plain typed arrays (not tensors) because the degradation maths runs in tight JS loops and sharp exchanges raw
 * buffers; the trainer turns batches into tensors.
 */
import { ShapeError } from '../util/errors.js';

/** An RGB image, `data` is HWC interleaved (`[H,W,3]`), float32, nominally in [0,1]. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** Number of channels of every `RgbImage`. */
export const CHANNELS = 3;

/** A zero-filled image of the given size. */
export function createImage(width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ShapeError('image', '[H>=1,W>=1,3]', [height, width, CHANNELS]);
  }
  return { width, height, data: new Float32Array(width * height * CHANNELS) };
}

/** Wraps an existing HWC buffer, checking its length. */
export function wrapImage(width: number, height: number, data: Float32Array): RgbImage {
  if (data.length !== width * height * CHANNELS) {
    throw new ShapeError('image data', `[${height},${width},3] (${width * height * CHANNELS} values)`, `${data.length} values`);
  }
  return { width, height, data };
}

/** A deep copy. */
export function cloneImage(img: RgbImage): RgbImage {
  return { width: img.width, height: img.height, data: img.data.slice() };
}

/** Clips every value to [0,1] in place (BSRGAN clips after each resize and noise step, METHOD §1.4). */
export function clipImage(img: RgbImage): RgbImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return img;
}

/** Clipped, rounded 8-bit values (`np.uint8((x.clip(0,1)*255).round())`, the reference's `single2uint`). */
export function toUint8(img: RgbImage): Uint8Array {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = toLevel(d[i]);
  return out;
}

/** One value to its 8-bit level: clip, multiply in float32 and round halves to even, as numpy does. */
function toLevel(v: number): number {
  if (!(v > 0)) return 0; // NaN too
  if (v >= 1) return 255;
  const x = Math.fround(v * 255);
  const r = Math.round(x); // rounds halves up; numpy rounds them to even
  return r - x === 0.5 && (r & 1) === 1 ? r - 1 : r;
}

/** Float image from 8-bit values (`uint2single`: v / 255). */
export function fromUint8(width: number, height: number, bytes: Uint8Array): RgbImage {
  const img = createImage(width, height);
  if (bytes.length !== img.data.length) {
    throw new ShapeError('uint8 image', `${img.data.length} bytes`, `${bytes.length} bytes`);
  }
  for (let i = 0; i < bytes.length; i++) img.data[i] = bytes[i] / 255;
  return img;
}

/** Rounds to 8-bit levels in place and maps back to [0,1] (the uint8 round trip of `auto_degrade`). */
export function quantizeUint8(img: RgbImage): RgbImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = toLevel(d[i]) / 255;
  return img;
}

/** A horizontally mirrored copy. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: w, height: h } = img;
  const out = createImage(w, h);
  for (let y = 0; y < h; y++) {
    const row = y * w * CHANNELS;
    for (let x = 0; x < w; x++) {
      const s = row + x * CHANNELS;
      const t = row + (w - 1 - x) * CHANNELS;
      out.data[t] = img.data[s];
      out.data[t + 1] = img.data[s + 1];
      out.data[t + 2] = img.data[s + 2];
    }
  }
  return out;
}

/** Writes `2x-1` of `img` into `dst` at `offset` ([0,1] -> [-1,1], METHOD §1.5 normalisation). */
export function writeSigned(img: RgbImage, dst: Float32Array, offset: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) dst[offset + i] = d[i] * 2 - 1;
}
