/**
 * JPEG compression artefacts (METHOD §1.4 op5 and the final pass, reference `add_JPEG_noise`): a real encode and
 * decode through sharp/libjpeg at quality U{30..95}, 4:2:0 chroma subsampling (OpenCV's default), 8-bit in and out.
 */
import type { Rng } from '../../util/rng.js';
import type { RgbImage } from '../image.js';
import { decodeBytes, encodeImage } from '../image-io.js';

/** Encodes `img` as JPEG at `quality` and decodes it again. */
export async function jpegRoundTrip(img: RgbImage, quality: number): Promise<RgbImage> {
  const bytes = await encodeImage(img, { format: 'jpeg', quality, chromaSubsampling: '4:2:0' });
  return decodeBytes(bytes, `<jpeg q${quality}>`);
}

/** Draws the quality from U{minQuality..maxQuality} (inclusive) and applies `jpegRoundTrip`. */
export async function addJpegNoise(img: RgbImage, rng: Rng, minQuality = 30, maxQuality = 95): Promise<RgbImage> {
  return jpegRoundTrip(img, rng.int(minQuality, maxQuality));
}
