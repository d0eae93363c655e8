/**
 * A loaded quality regressor as an ExportGraph (src/export/graph.ts): the same computation as its eval-mode
 * forward pass (src/regressor/model.ts and the backbones in src/fr), input normalisation included, with every
 * BatchNorm folded where it can be:
 * - a BN after a conv or dense layer goes into that layer's weights and bias;
 * - IResNet's `bn2` before the flatten goes into `fc` (no padding sits between them);
 * - IResNet's per-block `bn1` precedes a zero-padded conv, where folding would change the border, so it stays as
 *   one per-channel multiply-add (as in src/fr/iresnet.ts `basicBlockInference`).
 * The walkers below mirror the forward functions line by line; test/export checks the result against
 * `loadRegressor().score` on real faces.
 */
import type { HostTensor } from '../nn/params.js';
import type { QualityRegressor } from '../regressor/model.js';
import type { RegressorSpec } from '../regressor/spec.js';
import type { IResNetConfig } from '../fr/iresnet.js';
import type { MobileFaceNetConfig } from '../fr/mobilefacenet.js';
import { CheckpointError } from '../util/errors.js';
import { batchNormAffine, foldInputAffine, foldOutputAffine, GraphBuilder, type ExportGraph, type Pads } from './graph.js';

/** The input side every export takes (the ArcFace 112x112 template, as `diffiqa align` writes). */
export const EXPORT_INPUT_SIZE = 112;

/** Name of the graph input and output in every format. */
export const INPUT_NAME = 'image';
export const OUTPUT_NAME = 'quality';

/** BatchNorm epsilon of every regressor backbone (src/nn/layers.ts default, PyTorch's 1e-5). */
const BN_EPS = 1e-5;

const PAD0: Pads = [0, 0, 0, 0];
const PAD1: Pads = [1, 1, 1, 1];

/** Host copies of a regressor's parameters under one prefix; a missing name is a CheckpointError naming the file. */
class Weights {
  constructor(
    private readonly all: ReadonlyMap<string, HostTensor>,
    readonly prefix: string,
    private readonly source: string,
  ) {}

  has(name: string): boolean {
    return this.all.has(this.prefix + name);
  }

  get(name: string): HostTensor {
    const t = this.all.get(this.prefix + name);
    if (!t) throw new CheckpointError(this.source, this.prefix + name, 'missing: cannot export the model without it');
    return t;
  }

  vector(name: string): Float32Array {
    return this.get(name).data;
  }

  optional(name: string): Float32Array | null {
    return this.has(name) ? this.vector(name) : null;
  }

  /** The per-channel affine of BatchNorm `bn` with its running statistics. */
  batchNorm(bn: string): { scale: Float64Array; shift: Float64Array } {
    return batchNormAffine({
      mean: this.vector(`${bn}.running_mean`),
      variance: this.vector(`${bn}.running_var`),
      gamma: this.optional(`${bn}.weight`),
      beta: this.optional(`${bn}.bias`),
      eps: BN_EPS,
    });
  }

  /** Node name of parameter group `name` (the state-dict prefix, so a node is found by its weights' name). */
  node(name: string): string {
    return this.prefix + name;
  }
}

interface ConvBn {
  conv: string;
  bn?: string;
  prelu?: string;
  stride?: number;
  pads?: Pads;
  depthwise?: boolean;
}

/** conv (+ its BN folded in) (+ PReLU): one conv node and at most one PReLU node. */
function convBn(g: GraphBuilder, w: Weights, x: string, o: ConvBn): string {
  let weight = w.get(`${o.conv}.weight`);
  let bias = w.optional(`${o.conv}.bias`);
  if (o.bn) {
    const { scale, shift } = w.batchNorm(o.bn);
    ({ weight, bias } = foldOutputAffine(weight, bias, scale, shift, o.depthwise));
  }
  const h = g.conv(w.node(o.conv), x, { weight, bias, stride: o.stride ?? 1, pads: o.pads ?? PAD0, depthwise: o.depthwise ?? false });
  return o.prelu ? g.prelu(w.node(o.prelu), h, w.vector(`${o.prelu}.weight`)) : h;
}

/** dense (+ a BN over its outputs folded in). */
function denseBn(g: GraphBuilder, w: Weights, x: string, dense: string, bn?: string): string {
  let weight = w.get(`${dense}.weight`);
  let bias = w.optional(`${dense}.bias`);
  if (bn) {
    const { scale, shift } = w.batchNorm(bn);
    ({ weight, bias } = foldOutputAffine(weight, bias, scale, shift));
  }
  return g.dense(w.node(dense), x, weight, bias);
}

// ---- backbones: [N,112,112,3] RGB in [0,1] -> [N,D] ----

/** src/fr/mobileface.ts `mobilefaceForward`: BNs were folded upstream except `batchnorm0` (a scale and shift). */
function mobileface(g: GraphBuilder, w: Weights, x: string): string {
  // The graph's (255x - 127.5) * 0.0078125, as mobilefaceForward computes it.
  let h = g.affine(w.node('normalise'), x, 255 * 0.0078125, -127.5 * 0.0078125);
  h = convBn(g, w, h, { conv: 'conv1', prelu: 'prelu1', stride: 2, pads: PAD1 });
  for (let s = 1; s <= 4; s++) {
    const u = `stage${s}_unit1`;
    const c = convBn(g, w, h, { conv: `${u}_conv0_0` });
    const a = convBn(g, w, c, { conv: `${u}_conv0_1`, prelu: `${u}_prelu0`, stride: 2, pads: PAD1, depthwise: true });
    const b = convBn(g, w, a, { conv: `${u}_conv1`, prelu: `${u}_prelu1`, pads: PAD1, depthwise: true });
    h = g.add(w.node(`${u}_add`), convBn(g, w, b, { conv: `${u}_conv2`, prelu: `${u}_prelu2`, pads: PAD1, depthwise: true }), a);
  }
  // The graph is TF: it flattens H-W-C.
  const flat = g.flatten(w.node('flatten'), h, 'hwc');
  const bn = { scale: Float64Array.from(w.vector('batchnorm0.scale')), shift: Float64Array.from(w.vector('batchnorm0.shift')) };
  const { weight, bias } = foldOutputAffine(w.get('dense.weight'), null, bn.scale, bn.shift);
  return g.dense(w.node('dense'), flat, weight, bias);
}

/** src/fr/iresnet.ts `iresnetForward` in eval mode. */
function iresnet(g: GraphBuilder, w: Weights, cfg: Readonly<IResNetConfig>, x: string): string {
  let h = g.affine(w.node('normalise'), x, 2, -1);
  h = convBn(g, w, h, { conv: 'conv1', bn: 'bn1', prelu: 'prelu', pads: PAD1 });
  cfg.layers.forEach((blocks, i) => {
    for (let b = 0; b < blocks; b++) {
      const pre = `layer${i + 1}.${b}`;
      const stride = b === 0 ? 2 : 1;
      const bn1 = w.batchNorm(`${pre}.bn1`);
      let t = g.channelAffine(w.node(`${pre}.bn1`), h, Float32Array.from(bn1.scale), Float32Array.from(bn1.shift));
      t = convBn(g, w, t, { conv: `${pre}.conv1`, bn: `${pre}.bn2`, prelu: `${pre}.prelu`, pads: PAD1 });
      t = convBn(g, w, t, { conv: `${pre}.conv2`, bn: `${pre}.bn3`, stride, pads: PAD1 });
      const shortcut = w.has(`${pre}.downsample.0.weight`) ? convBn(g, w, h, { conv: `${pre}.downsample.0`, bn: `${pre}.downsample.1`, stride }) : h;
      h = g.add(w.node(`${pre}.add`), t, shortcut);
    }
  });
  // PyTorch flattens C-H-W; bn2 (per channel) becomes a per-feature affine of that order, folded into fc.
  const s = g.shapeOf(h) as { h: number; w: number; c: number };
  const bn2 = w.batchNorm('bn2');
  const per = s.h * s.w;
  const scale = new Float64Array(s.c * per);
  const shift = new Float64Array(s.c * per);
  for (let i = 0; i < scale.length; i++) {
    scale[i] = bn2.scale[Math.floor(i / per)] as number;
    shift[i] = bn2.shift[Math.floor(i / per)] as number;
  }
  const flat = g.flatten(w.node('flatten'), h, 'chw');
  const fc = foldInputAffine(w.get('fc.weight'), w.optional('fc.bias'), scale, shift);
  const features = w.batchNorm('features');
  const { weight, bias } = foldOutputAffine(fc.weight, fc.bias, features.scale, features.shift);
  return g.dense(w.node('fc'), flat, weight, bias);
}

/** src/fr/mobilefacenet.ts `mobileFaceNetForward` in eval mode (L2-normalised output). */
function mobileFaceNet(g: GraphBuilder, w: Weights, c: Readonly<MobileFaceNetConfig>, x: string): string {
  const block = (h: string, pre: string, o: { stride?: number; pads?: Pads; depthwise?: boolean; act?: boolean } = {}): string =>
    convBn(g, w, h, { conv: `${pre}.conv`, bn: `${pre}.bn`, prelu: o.act === false ? undefined : `${pre}.prelu`, stride: o.stride, pads: o.pads, depthwise: o.depthwise });
  const unit = (h: string, pre: string, stride: number, residual: boolean): string => {
    let t = block(h, `${pre}.conv`);
    t = block(t, `${pre}.conv_dw`, { stride, pads: PAD1, depthwise: true });
    t = block(t, `${pre}.project`, { act: false });
    return residual ? g.add(w.node(`${pre}.add`), h, t) : t;
  };
  let h = g.affine(w.node('normalise'), x, 2, -1);
  h = block(h, 'conv1', { stride: 2, pads: PAD1 });
  h = block(h, 'conv2_dw', { pads: PAD1, depthwise: true });
  h = unit(h, 'conv_23', 2, false);
  for (let i = 0; i < c.n3; i++) h = unit(h, `conv_3.model.${i}`, 1, true);
  h = unit(h, 'conv_34', 2, false);
  for (let i = 0; i < c.n4; i++) h = unit(h, `conv_4.model.${i}`, 1, true);
  h = unit(h, 'conv_45', 2, false);
  for (let i = 0; i < c.n5; i++) h = unit(h, `conv_5.model.${i}`, 1, true);
  h = block(h, 'conv_6_sep');
  h = block(h, 'conv_6_dw', { depthwise: true, act: false });
  const flat = g.flatten(w.node('flatten'), h, 'chw'); // 1x1 spatial: the order does not matter
  return g.l2Normalize(w.node('l2_normalize'), denseBn(g, w, flat, 'linear', 'bn'));
}

// ---- heads: [N,D] -> [N,1] ----

function head(g: GraphBuilder, w: Weights, spec: RegressorSpec, e: string): string {
  if (spec.kind === 'diffiqa-r') return denseBn(g, w, e, 'linear');
  const hidden = g.gelu('mlp.act', denseBn(g, w, e, 'mlp.l1'));
  return denseBn(g, w, hidden, 'mlp.l2');
}

/**
 * The folded graph of `model` (its eval-mode forward pass): input `image` `[N,112,112,3]` RGB in [0,1], output
 * `quality` `[N]`, the raw score `loadRegressor().score` returns. `source` names the weight file in errors.
 * @throws CheckpointError naming `source` when the backbone does not take 112x112 faces (the export contract)
 */
export function describeRegressorGraph(model: QualityRegressor, source: string): ExportGraph {
  if (model.inputSize !== EXPORT_INPUT_SIZE) {
    throw new CheckpointError(
      source,
      '',
      `cannot export: its ${model.spec.backbone.type} backbone takes ${model.inputSize}x${model.inputSize} faces, and exported models take ` +
        `${EXPORT_INPUT_SIZE}x${EXPORT_INPUT_SIZE} aligned faces (a backbone for another size would need a resize that diffiqa score does outside the network)`,
    );
  }
  const all = model.params.snapshot();
  const g = new GraphBuilder();
  const x = g.input(INPUT_NAME, EXPORT_INPUT_SIZE);
  const bw = new Weights(all, model.backbonePrefix, source);
  const b = model.spec.backbone;
  let e: string;
  switch (b.type) {
    case 'mobileface':
      e = mobileface(g, bw, x);
      break;
    case 'iresnet':
      e = iresnet(g, bw, b.iresnet, x);
      break;
    case 'mobilefacenet':
      e = mobileFaceNet(g, bw, b.mobilefacenet, x);
      break;
    default:
      throw new CheckpointError(source, 'spec.backbone.type', `cannot export backbone '${(b as { type: string }).type}'; exportable: mobileface, iresnet, mobilefacenet`);
  }
  const q = head(g, new Weights(all, '', source), model.spec, e);
  return g.finish(g.squeeze(OUTPUT_NAME, q));
}
