/**
 * An ExportGraph as one ONNX model (opset 13, IR version 8), encoded with onnx-proto (ONNX's own onnx.proto
 * compiled by protobufjs). Layout NCHW, as ONNX runtimes expect: input `image` `[N,3,112,112]`, output `quality`
 * `[N]`, the batch axis symbolic (`N`). Weights are initializers in raw little-endian float32; the graph's HWIO
 * conv weights are permuted to ONNX's OIHW (depthwise: `[C,1,kh,kw]` with `group = C`).
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { permuteHost } from '../nn/params.js';
import type { ExportGraph, ExportNode } from './graph.js';

const { onnx } = onnxProto;

/** The operator set: 13, the floor; every op used here exists in it, and every current runtime reads it. */
export const ONNX_OPSET = 13;
/** ONNX IR version 8 (onnx 1.10+, onnxruntime 1.10+): what onnx-proto's onnx.proto describes. */
export const ONNX_IR_VERSION = 8;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

type Attr = OnnxTypes.IAttributeProto;

const intAttr = (name: string, i: number): Attr => ({ name, type: A.INT, i });
const intsAttr = (name: string, ints: readonly number[]): Attr => ({ name, type: A.INTS, ints: [...ints] });

/** Collects nodes and initializers. */
class OnnxWriter {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];

  op(output: string, opType: string, input: string[], attribute: Attr[] = []): string {
    this.nodes.push({ name: output, opType, input, output: [output], attribute });
    return output;
  }

  floatInit(name: string, data: Float32Array, dims: readonly number[]): string {
    const rawData = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData });
    return name;
  }

  int64Init(name: string, values: readonly number[]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }
}

/** A per-channel vector shaped `[C,1,1]`, so it broadcasts over NCHW maps (PRelu, Mul, Add). */
function channelDims(n: ExportNode, c: number): number[] {
  return n.shape.kind === 'map' ? [c, 1, 1] : [c];
}

function writeNode(w: OnnxWriter, n: ExportNode): void {
  const x = n.inputs[0] as string;
  switch (n.op) {
    case 'input':
      return; // a graph input, not a node
    case 'affine': {
      const m = w.op(`${n.name}/mul`, 'Mul', [x, w.floatInit(`${n.name}/scale`, Float32Array.of(n.scale), [])]);
      w.op(n.name, 'Add', [m, w.floatInit(`${n.name}/shift`, Float32Array.of(n.shift), [])]);
      return;
    }
    case 'channelAffine': {
      const dims = channelDims(n, n.scale.length);
      const m = w.op(`${n.name}/mul`, 'Mul', [x, w.floatInit(`${n.name}/scale`, n.scale, dims)]);
      w.op(n.name, 'Add', [m, w.floatInit(`${n.name}/shift`, n.shift, dims)]);
      return;
    }
    case 'conv': {
      const [kh, kw, cin] = n.weight.shape as [number, number, number, number];
      // HWIO -> OIHW; depthwise [kh,kw,C,1] -> [C,1,kh,kw] (groups = C, one filter per channel).
      const oihw = n.depthwise ? permuteHost(n.weight, [2, 3, 0, 1]) : permuteHost(n.weight, [3, 2, 0, 1]);
      const [t, b, l, r] = n.pads;
      const inputs = [x, w.floatInit(`${n.name}/weight`, oihw.data, oihw.shape)];
      if (n.bias) inputs.push(w.floatInit(`${n.name}/bias`, n.bias, [n.bias.length]));
      w.op(n.name, 'Conv', inputs, [
        intsAttr('kernel_shape', [kh, kw]),
        intsAttr('strides', [n.stride, n.stride]),
        intsAttr('pads', [t, l, b, r]), // ONNX: all begins, then all ends
        intsAttr('dilations', [1, 1]),
        intAttr('group', n.depthwise ? cin : 1),
      ]);
      return;
    }
    case 'prelu':
      w.op(n.name, 'PRelu', [x, w.floatInit(`${n.name}/slope`, n.slope, channelDims(n, n.slope.length))]);
      return;
    case 'add':
      w.op(n.name, 'Add', [x, n.inputs[1] as string]);
      return;
    case 'flatten': {
      // NCHW flattens C-H-W as is; H-W-C (a TF graph's order) needs the map in NHWC first.
      const src = n.order === 'hwc' ? w.op(`${n.name}/to_nhwc`, 'Transpose', [x], [intsAttr('perm', [0, 2, 3, 1])]) : x;
      w.op(n.name, 'Flatten', [src], [intAttr('axis', 1)]);
      return;
    }
    case 'dense': {
      const inputs = [x, w.floatInit(`${n.name}/weight`, n.weight.data, n.weight.shape)];
      if (n.bias) inputs.push(w.floatInit(`${n.name}/bias`, n.bias, [n.bias.length]));
      w.op(n.name, 'Gemm', inputs);
      return;
    }
    case 'gelu': {
      const half = w.op(`${n.name}/half`, 'Mul', [x, w.floatInit(`${n.name}/0.5`, Float32Array.of(0.5), [])]);
      const scaled = w.op(`${n.name}/scaled`, 'Mul', [x, w.floatInit(`${n.name}/sqrt1_2`, Float32Array.of(Math.SQRT1_2), [])]);
      const erf = w.op(`${n.name}/erf`, 'Erf', [scaled]);
      const onePlus = w.op(`${n.name}/one_plus`, 'Add', [erf, w.floatInit(`${n.name}/1`, Float32Array.of(1), [])]);
      w.op(n.name, 'Mul', [half, onePlus]);
      return;
    }
    case 'l2Normalize': {
      const norm = w.op(`${n.name}/norm`, 'ReduceL2', [x], [intsAttr('axes', [1]), intAttr('keepdims', 1)]);
      w.op(n.name, 'Div', [x, norm]);
      return;
    }
    case 'squeeze':
      w.op(n.name, 'Reshape', [x, w.int64Init(`${n.name}/shape`, [-1])]);
      return;
  }
}

/** A float32 tensor type with a symbolic batch axis `N` first. */
function tensorType(dims: readonly (number | 'N')[]): OnnxTypes.ITypeProto {
  return { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (d === 'N' ? { dimParam: 'N' } : { dimValue: d })) } } };
}

/** Options of `toOnnxModel`. */
export interface OnnxOptions {
  /** String metadata, stored as the model's `metadata_props`. */
  metadata: Record<string, string>;
  /** `producer_version`, e.g. the diffiqa version. */
  producerVersion: string;
  /** `doc_string` of the model: a one-line description of its contract. */
  docString: string;
}

/** `graph` as the bytes of an `.onnx` file. */
export function toOnnxModel(graph: ExportGraph, opts: OnnxOptions): Uint8Array {
  const w = new OnnxWriter();
  for (const n of graph.nodes) writeNode(w, n);
  const s = graph.inputSize;
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'diffiqa',
    producerVersion: opts.producerVersion,
    docString: opts.docString,
    graph: {
      name: 'diffiqa_quality',
      node: w.nodes,
      initializer: w.initializers,
      input: [{ name: graph.input, type: tensorType(['N', 3, s, s]) }],
      output: [{ name: graph.output, type: tensorType(['N']) }],
    },
    metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
