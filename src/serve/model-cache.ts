/**
 * The regressor the browser scorer runs, as a tfjs graph model (src/export): exported once per weight file and
 * diffiqa version into a cache folder, then reused. The cache key is the SHA-256 of the weight file, so a retrained
 * `best.safetensors` at the same path is exported afresh; a cache entry whose model.json does not record that
 * SHA-256 (a half-copied or edited folder) is exported again rather than trusted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportRegressor } from '../export/exporter.js';
import { MODEL_JSON } from '../export/tfjs.js';
import { checkWeightGroups, type WeightGroup } from '../fr/weight-manifest.js';
import { sha256File, shippedModelPath } from '../models/shipped.js';
import { resolveRegressorPath } from '../regressor/weights.js';
import { diffiqaVersion } from '../util/format-version.js';

/** An exported model ready to serve. */
export interface CachedModel {
  /** The folder holding model.json and its weight shards. */
  dir: string;
  /** The weight file it was exported from, and its SHA-256. */
  source: string;
  sha256: string;
  /** `kind/backbone`, e.g. `ediffiqa/mobileface`. */
  model: string;
  /** False when this call exported it. */
  fromCache: boolean;
}

interface ExportMetadata {
  diffiqa?: { provenance?: { sourceSha256?: string; model?: string } };
}

/** What a cached export records about its source, or nothing when its model.json or shards are not intact. */
function recordedProvenance(dir: string): { sha?: string; model?: string } {
  try {
    const file = path.join(dir, MODEL_JSON);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { userDefinedMetadata?: ExportMetadata; weightsManifest?: WeightGroup[] };
    const { bytes } = checkWeightGroups(json.weightsManifest, file);
    const have = (json.weightsManifest ?? []).flatMap((g) => g.paths).reduce((n, p) => n + fs.statSync(path.join(dir, path.basename(p))).size, 0);
    if (have !== bytes) return {};
    const p = json.userDefinedMetadata?.diffiqa?.provenance;
    return { sha: p?.sourceSha256, model: p?.model };
  } catch {
    return {}; // absent or damaged: export again
  }
}

/**
 * The tfjs export of `model` (a regressor file or run folder, as `diffiqa score --model` takes; default the shipped
 * eDifFIQA) under `cacheDir/tfjs/`, exported now unless an export of the same file by this diffiqa is there.
 * @throws CheckpointError naming the model for a missing or unusable file; DiffiqaError naming the cache folder when
 *   it cannot be written
 */
export function cachedTfjsModel(model: string | undefined, cacheDir: string): CachedModel {
  const source = path.resolve(resolveRegressorPath(model ?? shippedModelPath('ediffiqa')));
  const sha256 = sha256File(source);
  const dir = path.join(cacheDir, 'tfjs', `${sha256.slice(0, 16)}-diffiqa-${diffiqaVersion()}`);
  const recorded = recordedProvenance(dir);
  if (recorded.sha === sha256 && recorded.model) return { dir, source, sha256, model: recorded.model, fromCache: true };
  const r = exportRegressor({ model: source, format: 'tfjs', out: dir });
  return { dir, source, sha256, model: r.model, fromCache: false };
}
