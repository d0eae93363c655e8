/**
 * What an evaluation needs besides pairs and quality files: FR embeddings (cached per FR model and dataset, the
 * missing ones computed by an injected function so that src/eval holds no FR model code) and the baseline
 * qualities. Shared by `diffiqa eval` and the experiment runner.
 */
import { decodeImage } from '../data/image-io.js';
import { ConfigError } from '../util/errors.js';
import { computeEmbeddingNormQualities, computeLaplacianVariance, computeRandomQualities, type BaselineName } from './baselines.js';
import { getEmbeddingCachePath, loadEmbeddingCache, saveEmbeddingCache } from './embedding-cache.js';

/** Computes raw FR embeddings of image files (absolute paths in, the same paths as keys out). */
export type EmbedImagesFn = (fr: string, files: string[]) => Promise<Map<string, Float32Array>>;

/** Maps a dataset-relative image key to the file that holds it. */
export type ResolveImage = (key: string) => string;

/**
 * Embeddings of `images` (dataset-relative keys) for one FR model: from the cache file of (fr, dataset), the
 * missing ones from `embed` (then saved back to the cache).
 * @throws ConfigError when embeddings are missing and no `embed` is given, or `embed` skips an image
 */
export async function getEmbeddings(
  fr: string,
  dataset: string,
  images: readonly string[],
  resolve: ResolveImage,
  cacheDir: string,
  embed: EmbedImagesFn | undefined,
): Promise<Map<string, Float32Array>> {
  const file = getEmbeddingCachePath(cacheDir, fr, dataset);
  const cached = loadEmbeddingCache(file, fr, dataset) ?? new Map<string, Float32Array>();
  const missing = images.filter((p) => !cached.has(p));
  if (missing.length === 0) return cached;
  if (!embed) {
    throw new ConfigError(file, fr, `${missing.length} images of '${dataset}' have no cached '${fr}' embedding, and no FR model is available to compute them`);
  }
  const files = missing.map(resolve);
  const computed = await embed(fr, files);
  missing.forEach((p, i) => {
    const e = computed.get(files[i] as string);
    if (!e) throw new ConfigError(file, fr, `FR model '${fr}' returned no embedding for ${files[i]}`);
    cached.set(p, e);
  });
  saveEmbeddingCache(file, fr, dataset, cached);
  return cached;
}

/** Sharpness (variance of the Laplacian) of every image, decoded at the FR input size 112x112. */
export async function computeSharpness(images: readonly string[], resolve: ResolveImage): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of images) out.set(p, computeLaplacianVariance(await decodeImage(resolve(p))));
  return out;
}

/** Inputs of {@link computeBaselines}. */
export interface BaselineInputs {
  images: readonly string[];
  resolve: ResolveImage;
  /** Needed for `embedding-norm`. */
  embeddings?: ReadonlyMap<string, Float32Array>;
  /** Seed of the random baseline. */
  seed: string | number;
}

/**
 * The qualities of each requested baseline, per image key.
 * @throws ConfigError when `embedding-norm` is requested without embeddings
 */
export async function computeBaselines(names: readonly BaselineName[], inputs: BaselineInputs): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const name of names) {
    if (name === 'random') out.set(name, computeRandomQualities(inputs.images, inputs.seed));
    else if (name === 'sharpness') out.set(name, await computeSharpness(inputs.images, inputs.resolve));
    else {
      const { embeddings } = inputs;
      if (!embeddings) throw new ConfigError('<evaluation>', 'baselines', 'the embedding-norm baseline needs FR embeddings');
      out.set(name, computeEmbeddingNormQualities(new Map(inputs.images.map((p) => [p, embeddings.get(p) as Float32Array]))));
    }
  }
  return out;
}
