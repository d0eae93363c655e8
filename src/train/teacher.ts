/**
 * Teacher embeddings e_T(x) for eDifFIQA (METHOD §4.2, §4.3): computed once with an FR model from the registry
 * (upstream: CosFace R100; default here: `mobileface`) and cached in the run folder, so a resumed or repeated
 * run does not embed the dataset again. Only missing images are embedded on a later run.
 */
import { embedImages } from '../fr/embed.js';
import { loadFrModel } from '../fr/registry.js';
import { getEmbeddingCachePath, loadEmbeddingCache, saveEmbeddingCache } from '../eval/embedding-cache.js';
import { ConfigError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import type { LabelledItem } from './regressor-labels.js';
import { readTorchStateDict } from '../regressor/weights.js';

/** Which teacher, and where its cache lives. */
export interface TeacherOptions {
  /** FR registry key (`mobileface`, `r100`, ...). */
  teacher: string;
  /** PyTorch weights for the registry's torch backbones (r18/r50/r100/mfn). */
  weights: string | null;
  prefix: string;
  batchSize: number;
  /** Folder holding the cache (`<cacheDir>/<teacher>/<dataset>.emb`). */
  cacheDir: string;
  /** Dataset identity stored in the cache (the resolved data folder). */
  dataset: string;
  /** The student's embedding size: the teacher must match it (checked before any image is embedded). */
  expectedDim: number;
  /** Config file named in the dimension error. */
  configFile?: string;
  quiet?: boolean;
}

function dimensionError(opts: TeacherOptions, got: number): ConfigError {
  return new ConfigError(
    opts.configFile ?? 'config',
    'ediffiqa.teacher',
    `teacher '${opts.teacher}' gives ${got}-d embeddings but the student's backbone gives ${opts.expectedDim}-d (L_rc compares them directly)`,
  );
}

/**
 * Returns e_T for every item (keyed by `rel`), from the cache where present; embeds and re-caches the rest.
 * @throws RegistryError for an unknown teacher, ConfigError when it needs weights, DataError for a bad image
 */
export async function loadTeacherEmbeddings(items: readonly LabelledItem[], opts: TeacherOptions): Promise<Map<string, Float32Array>> {
  const file = getEmbeddingCachePath(opts.cacheDir, opts.teacher, 'teacher');
  const cached = loadEmbeddingCache(file, opts.teacher, opts.dataset) ?? new Map<string, Float32Array>();
  const missing = items.filter((it) => !cached.has(it.rel));
  if (missing.length === 0) {
    const got = cached.get((items[0] as LabelledItem).rel)?.length ?? opts.expectedDim;
    if (got !== opts.expectedDim) throw dimensionError(opts, got);
    return cached;
  }
  const stateDict = opts.weights ? readTorchStateDict(opts.weights) : undefined;
  const fr = await loadFrModel(opts.teacher, { stateDict, prefix: opts.prefix, source: opts.weights ?? opts.teacher });
  if (fr.embeddingDim !== opts.expectedDim) {
    fr.dispose();
    throw dimensionError(opts, fr.embeddingDim);
  }
  const progress = new Progress(`teacher ${opts.teacher}`, missing.length, { unit: 'img', quiet: opts.quiet });
  try {
    const embedded = await embedImages(fr, missing.map((it) => it.file), {
      batchSize: opts.batchSize,
      onProgress: (done) => progress.update(done),
    });
    missing.forEach((it) => cached.set(it.rel, embedded.get(it.file)!));
  } finally {
    progress.done();
    fr.dispose();
  }
  saveEmbeddingCache(file, opts.teacher, opts.dataset, cached);
  return cached;
}
