/**
 * Batch embedding of image files with a registered FR model. Images are decoded with src/data's sharp
 * decoder to 112x112 RGB in [0,1] (they are expected to be aligned already; a different size is resized
 * without cropping, as the reference's Resize(112)).
 */
import { tf } from '../backend/tf.js';
import { decodeImage } from '../data/image-io.js';
import { loadFrModel, type LoadFrOptions } from './registry.js';
import type { FrModel } from './types.js';

/** Options of `embedImages`. */
export interface EmbedOptions extends LoadFrOptions {
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /** Called after each batch with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Embeds decoded [B,112,112,3] data with `fr`; returns one Float32Array per image. */
export function embedBatch(fr: FrModel, data: Float32Array, count: number): Float32Array[] {
  const x = tf.tensor4d(data, [count, 112, 112, 3]);
  const e = fr.embed(x);
  const flat = e.dataSync() as Float32Array;
  tf.dispose([x, e]);
  const d = fr.embeddingDim;
  return Array.from({ length: count }, (_, i) => flat.slice(i * d, (i + 1) * d));
}

/** Decodes aligned face files into one [N,112,112,3] RGB batch in [0,1] (resized without cropping if needed). */
export async function decodeFaceBatch(files: readonly string[]): Promise<Float32Array> {
  const images = await Promise.all(files.map((f) => decodeImage(f, { size: { width: 112, height: 112 } })));
  const data = new Float32Array(files.length * 112 * 112 * 3);
  images.forEach((img, i) => data.set(img.data, i * 112 * 112 * 3));
  return data;
}

/**
 * Embeds image files with the FR model `frName` (or an already loaded FrModel).
 * @returns path -> embedding (not normalised), in input order
 * @throws DataError for an unreadable image (the whole call fails: callers that want skip-and-log decode first)
 */
export async function embedImages(fr: string | FrModel, paths: readonly string[], opts: EmbedOptions = {}): Promise<Map<string, Float32Array>> {
  const model = typeof fr === 'string' ? await loadFrModel(fr, opts) : fr;
  const batchSize = opts.batchSize ?? 32;
  const out = new Map<string, Float32Array>();
  try {
    for (let start = 0; start < paths.length; start += batchSize) {
      const chunk = paths.slice(start, start + batchSize);
      embedBatch(model, await decodeFaceBatch(chunk), chunk.length).forEach((e, i) => out.set(chunk[i] as string, e));
      opts.onProgress?.(Math.min(start + batchSize, paths.length), paths.length);
    }
  } finally {
    if (typeof fr === 'string') model.dispose();
  }
  return out;
}
