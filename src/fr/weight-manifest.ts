/**
 * The tfjs web weight format (a JSON list of weight groups plus binary shards) without any file access: checking
 * a manifest's entries against the bytes they declare, decoding them to host tensors, taking a named weight.
 * Node reads the files in src/fr/tfjs-weights.ts; the browser scorer (src/serve/page) fetches the same files and
 * decodes them here, so both get identical weights.
 */
import { tf } from '../backend/tf.js';
import type { HostTensor } from '../nn/params.js';
import { CheckpointError, describeError, previewValue } from '../util/errors.js';

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
export function checkWeightGroups(groups: unknown, source: string): { specs: tf.io.WeightsManifestEntry[]; bytes: number } {
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

/**
 * Decodes specs + data with our tf instance and copies every tensor to the host. `source` names the file in errors.
 * @throws CheckpointError for malformed specs or data shorter than they declare
 */
export function decodeToHost(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer, source = '<weights>'): Map<string, HostTensor> {
  const { specs: checked, bytes } = checkWeightGroups([{ paths: [], weights: specs }], source);
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
