/**
 * A backend-neutral description of an inference network with its BatchNorms already folded: the one thing the
 * exporters serialise (src/export/tfjs.ts writes it as a tfjs graph model, src/export/onnx.ts as ONNX), so the
 * two formats cannot drift apart. src/export/regressor-graph.ts builds it from a loaded regressor.
 *
 * Values are feature maps (`[N,H,W,C]` in the NHWC words of this project; the ONNX writer lays them out NCHW) or
 * batches of vectors (`[N,D]`); the batch size N is left open. Weights use tfjs layouts (conv HWIO, depthwise
 * `[kh,kw,C,1]`, dense `[in,out]`) in float32. The builder tracks every value's shape and refuses a weight that
 * does not fit its input, so a serialiser never has to guess.
 */
import type { HostTensor } from '../nn/params.js';
import { ShapeError } from '../util/errors.js';

/** The shape of one value without its (open) batch axis. */
export type ValueShape = { kind: 'map'; h: number; w: number; c: number } | { kind: 'vector'; d: number } | { kind: 'scalar' };

/** Explicit zero padding `[top, bottom, left, right]` (PyTorch-style, METHOD §9: not TF 'same'). */
export type Pads = readonly [number, number, number, number];

/** What a node computes. Inputs are named by `ExportNode.inputs`. */
export type ExportOp =
  /** The graph input: `[N,size,size,3]` RGB in [0,1]. */
  | { op: 'input' }
  /** `x * scale + shift` with scalar constants (the backbones' own input normalisation). */
  | { op: 'affine'; scale: number; shift: number }
  /** `x * scale[c] + shift[c]` per channel: an eval-mode BatchNorm that has nothing to fold into. */
  | { op: 'channelAffine'; scale: Float32Array; shift: Float32Array }
  /** 2-D convolution (depthwise when `depthwise`), explicit zero padding, optional bias. */
  | { op: 'conv'; weight: HostTensor; bias: Float32Array | null; stride: number; pads: Pads; depthwise: boolean }
  /** Per-channel PReLU (slopes over the last axis). */
  | { op: 'prelu'; slope: Float32Array }
  /** Element-wise sum of the two inputs (residual connections). */
  | { op: 'add' }
  /** `[N,H,W,C]` -> `[N,H*W*C]`, in H-W-C order (TF graphs) or C-H-W order (PyTorch's flatten of NCHW). */
  | { op: 'flatten'; order: 'hwc' | 'chw' }
  /** `x @ weight + bias` with weight `[in,out]`. */
  | { op: 'dense'; weight: HostTensor; bias: Float32Array | null }
  /** Exact (erf) GELU: `x/2 * (1 + erf(x/√2))`, as torch.nn.GELU() and src/nn/layers.ts. */
  | { op: 'gelu' }
  /** `x / ||x||₂` over the last axis, without epsilon (as eDifFIQA's MobileFaceNet). */
  | { op: 'l2Normalize' }
  /** `[N,1]` -> `[N]`: one number per face. */
  | { op: 'squeeze' };

/** One node: its unique name (also the name of the value it produces), its inputs and its output shape. */
export type ExportNode = ExportOp & { readonly name: string; readonly inputs: readonly string[]; readonly shape: ValueShape };

/** A complete graph: nodes in execution order, one input, one output. */
export interface ExportGraph {
  readonly nodes: readonly ExportNode[];
  /** Name of the input node. */
  readonly input: string;
  /** Name of the output node (a `[N]` vector of scores). */
  readonly output: string;
  /** Side of the square input. */
  readonly inputSize: number;
}

function mapShape(s: ValueShape, what: string): { h: number; w: number; c: number } {
  if (s.kind !== 'map') throw new ShapeError(what, '[N,H,W,C]', `a ${s.kind}`);
  return s;
}

function vectorDim(s: ValueShape, what: string): number {
  if (s.kind !== 'vector') throw new ShapeError(what, '[N,D]', `a ${s.kind}`);
  return s.d;
}

/** Output side of a convolution: floor((in + pads - k) / stride) + 1, as PyTorch and tfjs explicit padding. */
function convOut(side: number, k: number, stride: number, before: number, after: number): number {
  return Math.floor((side + before + after - k) / stride) + 1;
}

/**
 * Builds an ExportGraph node by node. Each method takes the input value's name and returns the new value's name
 * (= the node name, which must be unique).
 */
export class GraphBuilder {
  private readonly nodes: ExportNode[] = [];
  private readonly shapes = new Map<string, ValueShape>();

  /** The input `[N,size,size,3]`. */
  input(name: string, size: number): string {
    return this.push({ op: 'input', name, inputs: [], shape: { kind: 'map', h: size, w: size, c: 3 } });
  }

  affine(name: string, x: string, scale: number, shift: number): string {
    return this.push({ op: 'affine', name, inputs: [x], shape: this.shapeOf(x), scale, shift });
  }

  channelAffine(name: string, x: string, scale: Float32Array, shift: Float32Array): string {
    const { c } = mapShape(this.shapeOf(x), `'${x}' passed to channelAffine '${name}'`);
    if (scale.length !== c || shift.length !== c) throw new ShapeError(`scale/shift of '${name}'`, `[${c}]`, `[${scale.length}]/[${shift.length}]`);
    return this.push({ op: 'channelAffine', name, inputs: [x], shape: this.shapeOf(x), scale, shift });
  }

  /** Convolution with weight HWIO `[kh,kw,cin,cout]`, or `[kh,kw,C,1]` when depthwise. */
  conv(name: string, x: string, o: { weight: HostTensor; bias: Float32Array | null; stride: number; pads: Pads; depthwise: boolean }): string {
    const s = mapShape(this.shapeOf(x), `'${x}' passed to conv '${name}'`);
    const [kh, kw, cin, cout] = o.weight.shape as [number, number, number, number];
    const want = o.depthwise ? `[kh,kw,${s.c},1]` : `[kh,kw,${s.c},cout]`;
    if (o.weight.shape.length !== 4 || cin !== s.c || (o.depthwise && cout !== 1)) throw new ShapeError(`weight of conv '${name}'`, want, o.weight.shape);
    const outC = o.depthwise ? s.c : cout;
    if (o.bias && o.bias.length !== outC) throw new ShapeError(`bias of conv '${name}'`, `[${outC}]`, [o.bias.length]);
    const [t, b, l, r] = o.pads;
    const shape: ValueShape = { kind: 'map', h: convOut(s.h, kh, o.stride, t, b), w: convOut(s.w, kw, o.stride, l, r), c: outC };
    if (shape.h < 1 || shape.w < 1) throw new ShapeError(`input of conv '${name}'`, `at least ${kh}x${kw} after padding`, `${s.h}x${s.w}`);
    return this.push({ op: 'conv', name, inputs: [x], shape, ...o });
  }

  prelu(name: string, x: string, slope: Float32Array): string {
    const s = this.shapeOf(x);
    const c = s.kind === 'map' ? s.c : vectorDim(s, `'${x}' passed to prelu '${name}'`);
    if (slope.length !== c) throw new ShapeError(`slope of prelu '${name}'`, `[${c}]`, [slope.length]);
    return this.push({ op: 'prelu', name, inputs: [x], shape: s, slope });
  }

  add(name: string, a: string, b: string): string {
    const [sa, sb] = [this.shapeOf(a), this.shapeOf(b)];
    if (JSON.stringify(sa) !== JSON.stringify(sb)) throw new ShapeError(`inputs of add '${name}'`, JSON.stringify(sa), JSON.stringify(sb));
    return this.push({ op: 'add', name, inputs: [a, b], shape: sa });
  }

  flatten(name: string, x: string, order: 'hwc' | 'chw'): string {
    const s = mapShape(this.shapeOf(x), `'${x}' passed to flatten '${name}'`);
    return this.push({ op: 'flatten', name, inputs: [x], shape: { kind: 'vector', d: s.h * s.w * s.c }, order });
  }

  /** Dense layer with weight `[in,out]`. */
  dense(name: string, x: string, weight: HostTensor, bias: Float32Array | null): string {
    const d = vectorDim(this.shapeOf(x), `'${x}' passed to dense '${name}'`);
    const [fanIn, fanOut] = weight.shape as [number, number];
    if (weight.shape.length !== 2 || fanIn !== d) throw new ShapeError(`weight of dense '${name}'`, `[${d},out]`, weight.shape);
    if (bias && bias.length !== fanOut) throw new ShapeError(`bias of dense '${name}'`, `[${fanOut}]`, [bias.length]);
    return this.push({ op: 'dense', name, inputs: [x], shape: { kind: 'vector', d: fanOut }, weight, bias });
  }

  gelu(name: string, x: string): string {
    return this.push({ op: 'gelu', name, inputs: [x], shape: this.shapeOf(x) });
  }

  l2Normalize(name: string, x: string): string {
    vectorDim(this.shapeOf(x), `'${x}' passed to l2Normalize '${name}'`);
    return this.push({ op: 'l2Normalize', name, inputs: [x], shape: this.shapeOf(x) });
  }

  /** `[N,1]` -> `[N]`. */
  squeeze(name: string, x: string): string {
    const d = vectorDim(this.shapeOf(x), `'${x}' passed to squeeze '${name}'`);
    if (d !== 1) throw new ShapeError(`'${x}' passed to squeeze '${name}'`, '[N,1]', `[N,${d}]`);
    return this.push({ op: 'squeeze', name, inputs: [x], shape: { kind: 'scalar' } });
  }

  /** The finished graph, from its input to `output`. */
  finish(output: string): ExportGraph {
    const input = this.nodes.find((n) => n.op === 'input');
    if (!input || input.shape.kind !== 'map') throw new Error('export graph has no input');
    if (this.shapeOf(output).kind !== 'scalar') throw new ShapeError(`output '${output}' of the export graph`, '[N]', JSON.stringify(this.shapeOf(output)));
    return { nodes: [...this.nodes], input: input.name, output, inputSize: input.shape.h };
  }

  shapeOf(name: string): ValueShape {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`export graph has no value named '${name}'`);
    return s;
  }

  private push(node: ExportNode): string {
    if (this.shapes.has(node.name)) throw new Error(`export graph node '${node.name}' defined twice`);
    node.inputs.forEach((i) => this.shapeOf(i));
    this.nodes.push(node);
    this.shapes.set(node.name, node.shape);
    return node.name;
  }
}

// ---- BatchNorm folding (float64, rounded once to float32) ----

/** An eval-mode BatchNorm: `(x - mean) / √(var + eps) * gamma + beta`, as tf.batchNorm and PyTorch. */
export interface BatchNormParams {
  mean: Float32Array;
  variance: Float32Array;
  /** null: no affine weight (gamma = 1). */
  gamma: Float32Array | null;
  /** null: no affine bias (beta = 0). */
  beta: Float32Array | null;
  eps: number;
}

/** The BatchNorm as a per-channel `x * scale + shift`. */
export function batchNormAffine(bn: BatchNormParams): { scale: Float64Array; shift: Float64Array } {
  const c = bn.mean.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    const k = (bn.gamma ? (bn.gamma[i] as number) : 1) / Math.sqrt((bn.variance[i] as number) + bn.eps);
    scale[i] = k;
    shift[i] = (bn.beta ? (bn.beta[i] as number) : 0) - (bn.mean[i] as number) * k;
  }
  return { scale, shift };
}

/**
 * Folds a per-output-channel affine (`y * scale + shift`) that follows a layer into the layer's weight and bias.
 * The output channel is the last axis of the weight (conv HWIO, dense `[in,out]`, depthwise `[kh,kw,C,1]` once
 * read as `C` outputs), so one loop serves all three.
 */
export function foldOutputAffine(weight: HostTensor, bias: Float32Array | null, scale: Float64Array, shift: Float64Array, depthwise = false): { weight: HostTensor; bias: Float32Array } {
  const out = depthwise ? (weight.shape[2] as number) : (weight.shape[weight.shape.length - 1] as number);
  if (scale.length !== out) throw new ShapeError('folded affine', `[${out}] per output channel`, [scale.length]);
  const w = new Float32Array(weight.data.length);
  for (let i = 0; i < w.length; i++) w[i] = (weight.data[i] as number) * (scale[i % out] as number);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) b[o] = (bias ? (bias[o] as number) : 0) * (scale[o] as number) + (shift[o] as number);
  return { weight: { shape: [...weight.shape], data: w }, bias: b };
}

/**
 * Folds a per-input-feature affine (`x * scale + shift`, e.g. a BatchNorm before a flatten, repeated over the
 * spatial positions) into the dense layer that reads it: `(x*s + t) @ W + b = x @ (s·W) + (t @ W + b)`. Exact up
 * to rounding because, unlike before a padded conv, no zero padding sits between them.
 */
export function foldInputAffine(weight: HostTensor, bias: Float32Array | null, scale: Float64Array, shift: Float64Array): { weight: HostTensor; bias: Float32Array } {
  const [fanIn, out] = weight.shape as [number, number];
  if (scale.length !== fanIn) throw new ShapeError('folded input affine', `[${fanIn}] per input feature`, [scale.length]);
  const w = new Float32Array(weight.data.length);
  const b = new Float64Array(out);
  for (let o = 0; o < out; o++) b[o] = bias ? (bias[o] as number) : 0;
  for (let i = 0; i < fanIn; i++) {
    const [s, t] = [scale[i] as number, shift[i] as number];
    for (let o = 0; o < out; o++) {
      const v = weight.data[i * out + o] as number;
      w[i * out + o] = v * s;
      b[o] = (b[o] as number) + v * t;
    }
  }
  return { weight: { shape: [fanIn, out], data: w }, bias: Float32Array.from(b) };
}
