/**
 * Image decoding and encoding with sharp (libvips). Every decoded image is RGB float32 HWC in [0,1]
 * (see `RgbImage`), whatever the file held: grayscale, RGBA, CMYK, 16-bit, or an EXIF-rotated photo.
 * Bad inputs raise `DataError(path, reason)` so that data loaders can skip and record them (STYLE §2.5).
 */
import { readFile, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError, describeError } from '../util/errors.js';
import { CHANNELS, type RgbImage, fromUint8, toUint8 } from './image.js';

/** Options of `decodeImage`. */
export interface DecodeOptions {
  /**
   * Output size. Default 112x112 (METHOD §1.4/§1.5: the loader resizes to 112x112 without cropping, i.e. sharp's
   * `fit: 'fill'`). `'native'` keeps the (EXIF-oriented) size, shrunk to fit inside `maxSide` when larger.
   */
  size?: { width: number; height: number } | 'native';
  /** Only with `size: 'native'`: the longest side kept; larger images are shrunk, aspect kept. Default 1024. */
  maxSide?: number;
  /** Images with a side shorter than this are rejected (too small to hold a face). Default 8. */
  minSide?: number;
  /** sharp's decompression-bomb guard, in pixels (width x height). Default 16384 x 16384. */
  limitInputPixels?: number;
}

/** Default decode size (METHOD §1.4). */
export const DEFAULT_IMAGE_SIZE = 112;

const DEFAULT_LIMIT_PIXELS = 16384 * 16384;

/**
 * Decodes an image file (or its bytes) to RGB float32 `[H,W,3]` in [0,1].
 * Grayscale is replicated to RGB, alpha is dropped (as PIL's `convert("RGB")` in the reference), CMYK is
 * converted to sRGB, 16-bit samples are reduced to 8 bits, and EXIF orientation is applied before resizing.
 * Resizing uses sharp's linear kernel (antialiased like the reference's PIL bilinear `T.Resize`); large inputs
 * are decoded through the resize (JPEG shrink-on-load), so a 10000x10000 file does not need 10^8 floats.
 * @param source a path, or the file's bytes (then `label` names it in errors)
 * @throws DataError for an empty, truncated, undecodable or too small file
 */
export async function decodeImage(source: string | Buffer, options: DecodeOptions = {}, label?: string): Promise<RgbImage> {
  const name = label ?? (typeof source === 'string' ? source : '<buffer>');
  const bytes = typeof source === 'string' ? await readBytes(source) : source;
  if (bytes.length === 0) throw new DataError(name, 'empty file (0 bytes)');
  const limit = options.limitInputPixels ?? DEFAULT_LIMIT_PIXELS;
  const minSide = options.minSide ?? 8;
  const { width: w0, height: h0 } = await readSize(bytes, name, limit);
  // minSide applies to the stored size; EXIF rotation only swaps the sides.
  if (Math.min(w0, h0) < minSide) {
    throw new DataError(name, `image too small: ${w0}x${h0}, need at least ${minSide} px on each side`);
  }
  // failOn 'truncated': a truncated file is an error, harmless warnings (stray bytes after EOI) are not.
  let pipeline = sharp(bytes, { failOn: 'truncated', limitInputPixels: limit })
    .autoOrient()
    .removeAlpha()
    .toColourspace('srgb');
  pipeline = applySize(pipeline, options);
  try {
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== CHANNELS) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return fromUint8(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.length));
  } catch (err) {
    throw new DataError(name, `cannot decode image: ${describeError(err)}`);
  }
}

/**
 * Resizes an in-memory image with sharp's linear kernel (the same resampler `decodeImage` uses, so that HQ and
 * LQ sizes are made alike). Passes through 8 bits: the reference resizes uint8 PIL images at this point.
 */
export async function resizeImage(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (img.width === width && img.height === height) return img;
  const { data, info } = await sharp(toUint8(img), { raw: { width: img.width, height: img.height, channels: CHANNELS } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return fromUint8(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.length));
}

/** Options of `encodeImage`. */
export interface EncodeOptions {
  format: 'png' | 'jpeg';
  /** JPEG quality 1..100. Default 90. */
  quality?: number;
  /** JPEG chroma subsampling; default '4:2:0', libjpeg's and OpenCV's default. */
  chromaSubsampling?: '4:2:0' | '4:4:4';
}

/** Encodes an RGB float image (clipped, rounded to 8 bits) as PNG or JPEG bytes. */
export async function encodeImage(img: RgbImage, options: EncodeOptions): Promise<Buffer> {
  const raw = sharp(toUint8(img), { raw: { width: img.width, height: img.height, channels: CHANNELS } });
  if (options.format === 'png') return raw.png().toBuffer();
  return raw
    .jpeg({ quality: options.quality ?? 90, chromaSubsampling: options.chromaSubsampling ?? '4:2:0' })
    .toBuffer();
}

/** Writes an RGB float image to `path` as PNG or JPEG (chosen by the extension: .jpg/.jpeg, else PNG). */
export async function writeImage(path: string, img: RgbImage, quality = 95): Promise<void> {
  const format = /\.jpe?g$/i.test(path) ? 'jpeg' : 'png';
  await writeFile(path, await encodeImage(img, { format, quality }));
}

/** Decodes encoded bytes produced by `encodeImage` (no size checks, native size). */
export async function decodeBytes(bytes: Buffer, label = '<buffer>'): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return fromUint8(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.length));
  } catch (err) {
    throw new DataError(label, `cannot decode image: ${describeError(err)}`);
  }
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new DataError(path, `cannot read file: ${describeError(err)}`);
  }
}

async function readSize(bytes: Buffer, name: string, limit: number): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    // Header only; the pixel limit is checked below so that the error can say so plainly.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new DataError(name, `not a readable image: ${describeError(err)}`);
  }
  if (!meta.width || !meta.height) throw new DataError(name, 'image has no width/height');
  if (meta.width * meta.height > limit) {
    throw new DataError(name, `image too large: ${meta.width}x${meta.height} exceeds ${limit} pixels`);
  }
  return { width: meta.width, height: meta.height };
}

function applySize(pipeline: sharp.Sharp, options: DecodeOptions): sharp.Sharp {
  const size = options.size ?? { width: DEFAULT_IMAGE_SIZE, height: DEFAULT_IMAGE_SIZE };
  if (size === 'native') {
    const maxSide = options.maxSide ?? 1024;
    return pipeline.resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' });
  }
  return pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'linear' });
}
