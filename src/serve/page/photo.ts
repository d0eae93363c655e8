/// <reference lib="dom" />
/**
 * Browser side: a photo (a dropped file, or a webcam frame) to the image `decodeImage(file, { size: 'native',
 * maxSide: 1024 })` gives Node. The browser decodes it (EXIF orientation applied, colours converted to sRGB, as
 * sharp does); the rotation is undone, the photo shrunk as sharp shrinks it (src/data/linear-reduce.ts) and rotated
 * back, because sharp shrinks before it rotates (src/data/exif-orientation.ts). For an sRGB JPEG up to three times
 * the decode size, or PNG up to four times, the pixels equal Node's byte for byte (test/serve/serve.test.ts checks
 * it in Chromium); otherwise the photo is marked, with the reason.
 */
import { applyOrientation, readExifOrientation, undoOrientation } from '../../data/exif-orientation.js';
import { fromUint8, type RgbImage } from '../../data/image.js';
import { reduceToFit, shrinkPlan, type ShrinkPlan, type Uint8Image } from '../../data/linear-reduce.js';
import { DataError, describeError } from '../../util/errors.js';

/** decodeImage's limits (src/data/image-io.ts). */
const MIN_SIDE = 8;
const MAX_PIXELS = 16384 * 16384;

/** A decoded photo, ready for detection. */
export interface DecodedPhoto {
  image: RgbImage;
  /** Size before the shrink. */
  width: number;
  height: number;
  plan: ShrinkPlan;
  /** Why the pixels may differ from Node's (absent when they are equal). */
  note?: string;
}

/** Where the pixels came from: a file's format by its first bytes, or a webcam frame (which Node never sees). */
export type PhotoSource = { format: 'jpeg' | 'png' | 'webp' | 'other'; orientation: number } | { format: 'frame' };

/** A file's format by its magic bytes, and its EXIF orientation (JPEG only; 1 = upright). */
export function sniffPhoto(bytes: Uint8Array): PhotoSource {
  const ascii = (from: number, to: number): string => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { format: 'jpeg', orientation: readExifOrientation(bytes) };
  if (ascii(1, 4) === 'PNG') return { format: 'png', orientation: 1 };
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { format: 'webp', orientation: 1 };
  return { format: 'other', orientation: 1 };
}

/** Why the page's pixels may differ from Node's for this source and shrink; undefined when they do not. */
function sourceNote(source: PhotoSource, plan: ShrinkPlan): string | undefined {
  if (source.format === 'frame') return undefined;
  if (!plan.exact) return plan.reason;
  if (source.format === 'webp' && plan.shrink > 1) return 'sharp decodes a WebP shrunk at a reduced scale (libwebp), which a browser cannot';
  if (source.format === 'other') return "this format is decoded by the browser's decoder, not sharp's";
  return undefined;
}

/** RGB bytes of a bitmap (alpha dropped, as sharp's removeAlpha), and whether any pixel was not opaque. */
function rgbOf(bitmap: ImageBitmap): { image: Uint8Image; translucent: boolean } {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const data = new Uint8Array(bitmap.width * bitmap.height * 3);
  let translucent = false;
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
    data[o] = rgba[i] as number;
    data[o + 1] = rgba[i + 1] as number;
    data[o + 2] = rgba[i + 2] as number;
    if (rgba[i + 3] !== 255) translucent = true;
  }
  return { image: { width: bitmap.width, height: bitmap.height, channels: 3, data }, translucent };
}

/**
 * Turns a decoded bitmap (as displayed: EXIF orientation applied) into the detector's input; `name` names the photo
 * in errors.
 * @throws DataError for an image too small or too large, as decodeImage
 */
export function photoFromBitmap(bitmap: ImageBitmap, name: string, maxSide: number, source: PhotoSource): DecodedPhoto {
  const { width, height } = bitmap;
  if (Math.min(width, height) < MIN_SIDE) throw new DataError(name, `image too small: ${width}x${height}, need at least ${MIN_SIDE} px on each side`);
  if (width * height > MAX_PIXELS) throw new DataError(name, `image too large: ${width}x${height} exceeds ${MAX_PIXELS} pixels`);
  const { image, translucent } = rgbOf(bitmap);
  const orientation = source.format === 'frame' ? 1 : source.orientation;
  const stored = undoOrientation(image, orientation);
  const plan = shrinkPlan(stored.width, stored.height, maxSide, source.format === 'jpeg');
  const small = applyOrientation(reduceToFit(stored, maxSide), orientation);
  const note = sourceNote(source, plan) ?? (translucent ? 'the image has transparent pixels, which a canvas stores premultiplied (sharp keeps them as they are)' : undefined);
  return { image: fromUint8(small.width, small.height, small.data), width, height, plan, note };
}

/**
 * Decodes a photo file.
 * @throws DataError naming the file when the browser cannot decode it, or it is too small or too large
 */
export async function decodePhoto(file: Blob, name: string, maxSide: number): Promise<DecodedPhoto> {
  if (file.size === 0) throw new DataError(name, 'empty file (0 bytes)');
  const source = sniffPhoto(new Uint8Array(await file.arrayBuffer()));
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'default' });
  } catch (err) {
    throw new DataError(name, `cannot decode image: ${describeError(err)}`);
  }
  try {
    return photoFromBitmap(bitmap, name, maxSide, source);
  } finally {
    bitmap.close();
  }
}
