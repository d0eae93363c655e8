/**
 * An ExportGraph as a tfjs graph model, the format tfjs-converter writes and `tf.loadGraphModel` reads: a
 * `model.json` (`format: 'graph-model'`, `modelTopology` a TF GraphDef in JSON, `weightsManifest`, `signature`,
 * `userDefinedMetadata`) and binary weight shards beside it. Only plain TF ops that tfjs-converter maps are used
 * (Placeholder, Const, Conv2D and DepthwiseConv2dNative with EXPLICIT padding, BiasAdd, Prelu, Mul, AddV2,
 * Transpose, Reshape, MatMul, Erf, EuclideanNorm, RealDiv), so the model runs on every tfjs backend, in a browser
 * and in Node. Layout NHWC: input `[N,112,112,3]`.
 */
import type { ExportGraph, ExportNode } from './graph.js';

/** tfjs-converter's default shard size (4 MiB): browsers cache files of this size well. */
export const SHARD_BYTES = 4 * 1024 * 1024;

/** The model.json file name and its folder's shard names (`group1-shard1of2.bin`, ...). */
export const MODEL_JSON = 'model.json';
export const SHARD_PATTERN = /^group\d+-shard\d+of\d+\.bin$/;

type AttrValue = { type: string } | { list: { i: string[] } } | { s: string } | { b: boolean } | { shape: object } | { tensor: object };

interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** The files of a tfjs graph model: `model.json` and its shards, by file name. */
export type TfjsFiles = Map<string, string | Uint8Array>;

const FLOAT = { type: 'DT_FLOAT' };
const INT32 = { type: 'DT_INT32' };

function tensorShape(shape: readonly number[]): { dim?: { size: string }[] } {
  return shape.length === 0 ? {} : { dim: shape.map((d) => ({ size: String(d) })) };
}

function ints(values: readonly number[]): { list: { i: string[] } } {
  return { list: { i: values.map(String) } };
}

/** GraphDef string attributes are base64 in JSON (protobuf `bytes`). */
function str(value: string): { s: string } {
  return { s: Buffer.from(value, 'utf8').toString('base64') };
}

/** Collects GraphDef nodes and the Const weights behind them. */
class GraphDefWriter {
  readonly nodes: GraphDefNode[] = [];
  readonly weights: WeightEntry[] = [];
  readonly data: Uint8Array[] = [];

  op(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string {
    this.nodes.push(input.length > 0 ? { name, op, input, attr } : { name, op, attr });
    return name;
  }

  /** A float32 Const node whose value is a weight of the manifest (tfjs finds it by the node's name). */
  floatConst(name: string, data: Float32Array, shape: readonly number[]): string {
    return this.constant(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), shape, 'float32');
  }

  intConst(name: string, values: readonly number[]): string {
    const data = Int32Array.from(values);
    return this.constant(name, new Uint8Array(data.buffer), [values.length], 'int32');
  }

  private constant(name: string, bytes: Uint8Array, shape: readonly number[], dtype: 'float32' | 'int32'): string {
    const t = dtype === 'float32' ? FLOAT : INT32;
    this.nodes.push({ name, op: 'Const', attr: { dtype: t, value: { tensor: { dtype: t.type, tensorShape: tensorShape(shape) } } } });
    this.weights.push({ name, shape: [...shape], dtype });
    this.data.push(bytes);
    return name;
  }
}

/** Writes one ExportGraph node as GraphDef nodes; the last one carries the node's own name. */
function writeNode(w: GraphDefWriter, n: ExportNode): void {
  const x = n.inputs[0] as string;
  const T = { T: FLOAT };
  switch (n.op) {
    case 'input':
      if (n.shape.kind !== 'map') throw new Error('export graph input must be a map');
      w.op(n.name, 'Placeholder', [], { dtype: FLOAT, shape: { shape: tensorShape([-1, n.shape.h, n.shape.w, n.shape.c]) } });
      return;
    case 'affine': {
      const m = w.op(`${n.name}/mul`, 'Mul', [x, w.floatConst(`${n.name}/scale`, Float32Array.of(n.scale), [])], T);
      w.op(n.name, 'AddV2', [m, w.floatConst(`${n.name}/shift`, Float32Array.of(n.shift), [])], T);
      return;
    }
    case 'channelAffine': {
      const m = w.op(`${n.name}/mul`, 'Mul', [x, w.floatConst(`${n.name}/scale`, n.scale, [n.scale.length])], T);
      w.op(n.name, 'AddV2', [m, w.floatConst(`${n.name}/shift`, n.shift, [n.shift.length])], T);
      return;
    }
    case 'conv': {
      const [t, b, l, r] = n.pads;
      const filter = w.floatConst(`${n.name}/weight`, n.weight.data, n.weight.shape);
      const convName = n.bias ? `${n.name}/conv` : n.name;
      w.op(convName, n.depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', [x, filter], {
        ...T,
        strides: ints([1, n.stride, n.stride, 1]),
        padding: str('EXPLICIT'),
        explicit_paddings: ints([0, 0, t, b, l, r, 0, 0]),
        dilations: ints([1, 1, 1, 1]),
        data_format: str('NHWC'),
      });
      if (n.bias) w.op(n.name, 'BiasAdd', [convName, w.floatConst(`${n.name}/bias`, n.bias, [n.bias.length])], { ...T, data_format: str('NHWC') });
      return;
    }
    case 'prelu':
      w.op(n.name, 'Prelu', [x, w.floatConst(`${n.name}/slope`, n.slope, [n.slope.length])], T);
      return;
    case 'add':
      w.op(n.name, 'AddV2', [x, n.inputs[1] as string], T);
      return;
    case 'flatten': {
      if (n.shape.kind !== 'vector') throw new Error(`flatten '${n.name}' must produce a vector`);
      const src = n.order === 'chw' ? w.op(`${n.name}/to_nchw`, 'Transpose', [x, w.intConst(`${n.name}/perm`, [0, 3, 1, 2])], T) : x;
      w.op(n.name, 'Reshape', [src, w.intConst(`${n.name}/shape`, [-1, n.shape.d])], T);
      return;
    }
    case 'dense': {
      const mm = n.bias ? `${n.name}/matmul` : n.name;
      w.op(mm, 'MatMul', [x, w.floatConst(`${n.name}/weight`, n.weight.data, n.weight.shape)], { ...T, transpose_a: { b: false }, transpose_b: { b: false } });
      if (n.bias) w.op(n.name, 'BiasAdd', [mm, w.floatConst(`${n.name}/bias`, n.bias, [n.bias.length])], { ...T, data_format: str('NHWC') });
      return;
    }
    case 'gelu': {
      // x/2 * (1 + erf(x/√2)), in the order of src/nn/layers.ts `gelu`.
      const half = w.op(`${n.name}/half`, 'Mul', [x, w.floatConst(`${n.name}/0.5`, Float32Array.of(0.5), [])], T);
      const scaled = w.op(`${n.name}/scaled`, 'Mul', [x, w.floatConst(`${n.name}/sqrt1_2`, Float32Array.of(Math.SQRT1_2), [])], T);
      const erf = w.op(`${n.name}/erf`, 'Erf', [scaled], T);
      const onePlus = w.op(`${n.name}/one_plus`, 'AddV2', [erf, w.floatConst(`${n.name}/1`, Float32Array.of(1), [])], T);
      w.op(n.name, 'Mul', [half, onePlus], T);
      return;
    }
    case 'l2Normalize': {
      const norm = w.op(`${n.name}/norm`, 'EuclideanNorm', [x, w.intConst(`${n.name}/axis`, [1])], { ...T, keep_dims: { b: true }, Tidx: INT32 });
      w.op(n.name, 'RealDiv', [x, norm], T);
      return;
    }
    case 'squeeze':
      w.op(n.name, 'Reshape', [x, w.intConst(`${n.name}/shape`, [-1])], T);
      return;
  }
}

/** Splits `chunks` (concatenated) into shards of at most `shardBytes`, as tfjs-converter does (across tensors). */
function shard(chunks: readonly Uint8Array[], shardBytes: number): Uint8Array[] {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  const shards: Uint8Array[] = [];
  for (let start = 0; start < total; start += shardBytes) shards.push(all.subarray(start, Math.min(total, start + shardBytes)));
  return shards.length > 0 ? shards : [new Uint8Array(0)];
}

/** Options of `toTfjsGraphModel`. */
export interface TfjsOptions {
  /** Free-form JSON stored as `userDefinedMetadata` (GraphModel.metadata once loaded). */
  metadata: Record<string, unknown>;
  /** `generatedBy` in model.json, e.g. `diffiqa 0.1.0`. */
  generatedBy: string;
  /** Largest shard in bytes. Default 4 MiB. */
  shardBytes?: number;
}

/**
 * The files of `graph` as a tfjs graph model: `model.json` (input `image` NHWC `[N,S,S,3]`, output `quality` `[N]`)
 * and `group1-shard{i}of{n}.bin`, by name. Weights are float32 little-endian, as tfjs reads them.
 */
export function toTfjsGraphModel(graph: ExportGraph, opts: TfjsOptions): TfjsFiles {
  const w = new GraphDefWriter();
  for (const n of graph.nodes) writeNode(w, n);
  const shards = shard(w.data, opts.shardBytes ?? SHARD_BYTES);
  const names = shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`);
  const s = graph.inputSize;
  const model = {
    format: 'graph-model',
    generatedBy: opts.generatedBy,
    convertedBy: 'diffiqa export',
    signature: {
      inputs: { [graph.input]: { name: `${graph.input}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, s, s, 3]) } },
      outputs: { [graph.output]: { name: `${graph.output}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1]) } },
    },
    modelTopology: { node: w.nodes, library: {}, versions: {} },
    weightsManifest: [{ paths: names, weights: w.weights }],
    userDefinedMetadata: opts.metadata,
  };
  const files: TfjsFiles = new Map();
  files.set(MODEL_JSON, `${JSON.stringify(model)}\n`);
  shards.forEach((data, i) => files.set(names[i] as string, data));
  return files;
}
