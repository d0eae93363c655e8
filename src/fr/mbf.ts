/**
 * insightface's `mbf` (arcface_torch `backbones/mobilefacenet.py`, get_mbf: scale 2, blocks (1,4,6,2), 512-d,
 * not normalised) over a ParamStore with its PyTorch names (`layers.3.layers.0.layers.1.layers.0.weight`,
 * `conv_sep.layers.*`, `features.layers.{0,2,3}.*`). Same family as eDifFIQA's MobileFaceNet
 * (src/fr/mobilefacenet.ts) but a different module layout, twice the widths, no output normalisation, and a
 * GROUPED 3x3 conv (groups 64 over 128 channels, 2 channels per group) where eDifFIQA has a depthwise one.
 * Only the blocks[0] == 1 branch (get_mbf) is implemented, not get_mbf_large.
 */
import { tf } from '../backend/tf.js';
import { batchNormNamed, convNamed, depthwiseNamed, linearNamed, preluNamed } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Rng } from '../util/rng.js';
import { ShapeError } from '../util/errors.js';
import { storeDeclarer, type ParamDeclarer } from './declare.js';
import type { Backbone } from './types.js';

/** Widths/blocks of get_mbf; `gs` is the grouped conv's group count. */
export interface MbfConfig {
  c1: number;
  c2: number;
  gs: number;
  g23: number;
  g3: number;
  g34: number;
  g4: number;
  g45: number;
  g5: number;
  n3: number;
  n4: number;
  n5: number;
  sep: number;
  emb: number;
}

/** insightface get_mbf(fp16, 512): scale 2, blocks (1, 4, 6, 2). */
export const MBF_CONFIG: Readonly<MbfConfig> = {
  c1: 128, c2: 256, gs: 64, g23: 128, g3: 128, g34: 256, g4: 256, g45: 512, g5: 256, n3: 4, n4: 6, n5: 2, sep: 512, emb: 512,
};

type Kind = 'conv' | 'dw' | 'grouped';

function declareBlock(d: ParamDeclarer, pre: string, k: number, cin: number, cout: number, kind: Kind, act: boolean, groups = 1): void {
  if (kind === 'dw') d.depthwise(`${pre}.layers.0`, k, cout);
  else if (kind === 'grouped') d.groupedConv(`${pre}.layers.0`, k, cin, cout, groups);
  else d.conv(`${pre}.layers.0`, k, cin, cout, false);
  d.batchNorm(`${pre}.layers.1`, cout);
  if (act) d.prelu(`${pre}.layers.2`, cout);
}

function declareDepthWise(d: ParamDeclarer, pre: string, cin: number, cout: number, groups: number): void {
  declareBlock(d, `${pre}.layers.0`, 1, cin, groups, 'conv', true);
  declareBlock(d, `${pre}.layers.1`, 3, groups, groups, 'dw', true);
  declareBlock(d, `${pre}.layers.2`, 1, groups, cout, 'conv', false);
}

/** Stage list: [module index, in, out, expansion, residual units (0 = a single strided DepthWise)]. */
function stages(c: Readonly<MbfConfig>): [number, number, number, number, number][] {
  return [
    [2, c.c1, c.c1, c.g23, 0], [3, c.c1, c.c1, c.g3, c.n3],
    [4, c.c1, c.c2, c.g34, 0], [5, c.c2, c.c2, c.g4, c.n4],
    [6, c.c2, c.c2, c.g45, 0], [7, c.c2, c.c2, c.g5, c.n5],
  ];
}

/** Declares every parameter in PyTorch state_dict order. */
export function declareMbf(d: ParamDeclarer, c: Readonly<MbfConfig>): void {
  declareBlock(d, 'layers.0', 3, 3, c.c1, 'conv', true);
  declareBlock(d, 'layers.1', 3, c.c1, c.c1, 'grouped', true, c.gs);
  for (const [i, cin, cout, g, n] of stages(c)) {
    if (n === 0) declareDepthWise(d, `layers.${i}`, cin, cout, g);
    else for (let u = 0; u < n; u++) declareDepthWise(d, `layers.${i}.layers.${u}`, cin, cout, g);
  }
  declareBlock(d, 'conv_sep', 1, c.c2, c.sep, 'conv', true);
  declareBlock(d, 'features.layers.0', 7, c.sep, c.sep, 'dw', false);
  d.linear('features.layers.2', c.sep, c.emb, false);
  d.batchNorm('features.layers.3', c.emb);
}

/**
 * Grouped conv (stride 1, symmetric pad) as a depthwise conv with channel multiplier = outputs per group,
 * followed by a sum over each group's inputs. Weight HWIO [k,k,cin/G,cout].
 */
export function groupedConv2d(x: tf.Tensor4D, w: tf.Tensor4D, groups: number, pad: number): tf.Tensor4D {
  const [k, , cpg, cout] = w.shape;
  const opg = cout / groups;
  // K[g*cpg + i, j] = W[i, g*opg + j]
  const kdw = tf.reshape(tf.transpose(tf.reshape(w, [k, k, cpg, groups, opg]), [0, 1, 3, 2, 4]), [k, k, groups * cpg, opg]) as tf.Tensor4D;
  const xp = pad ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
  const y = tf.depthwiseConv2d(xp, kdw, 1, 'valid');
  const [b, h, wd] = y.shape;
  return tf.reshape(tf.sum(tf.reshape(y, [b, h, wd, groups, cpg, opg]), 4), [b, h, wd, cout]) as tf.Tensor4D;
}

interface BlockOpts {
  stride?: number;
  padding?: number;
  kind?: Kind;
  act?: boolean;
  groups?: number;
}

function block(p: ParamStore, pre: string, x: tf.Tensor4D, training: boolean, o: BlockOpts = {}): tf.Tensor4D {
  const conv = { stride: o.stride ?? 1, padding: o.padding ?? 0 };
  const w = `${pre}.layers.0`;
  const y =
    o.kind === 'dw'
      ? depthwiseNamed(p, w, x, conv)
      : o.kind === 'grouped'
        ? groupedConv2d(x, p.get(`${w}.weight`) as tf.Tensor4D, o.groups ?? 1, conv.padding)
        : convNamed(p, w, x, conv);
  const n = batchNormNamed(p, `${pre}.layers.1`, y, training) as tf.Tensor4D;
  return o.act === false ? n : (preluNamed(p, `${pre}.layers.2`, n) as tf.Tensor4D);
}

function depthWise(p: ParamStore, pre: string, x: tf.Tensor4D, stride: number, residual: boolean, training: boolean): tf.Tensor4D {
  let h = block(p, `${pre}.layers.0`, x, training);
  h = block(p, `${pre}.layers.1`, h, training, { stride, padding: 1, kind: 'dw' });
  h = block(p, `${pre}.layers.2`, h, training, { act: false });
  return residual ? tf.add(x, h) : h;
}

/** Forward pass: [B,112,112,3] RGB in [0,1] -> [B,emb] (not normalised); normalises to [-1,1] first. */
export function mbfForward(p: ParamStore, c: Readonly<MbfConfig>, x: tf.Tensor4D, training: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    let h = tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
    h = block(p, 'layers.0', h, training, { stride: 2, padding: 1 });
    h = block(p, 'layers.1', h, training, { padding: 1, kind: 'grouped', groups: c.gs });
    for (const [i, , , , n] of stages(c)) {
      if (n === 0) h = depthWise(p, `layers.${i}`, h, 2, false, training);
      else for (let u = 0; u < n; u++) h = depthWise(p, `layers.${i}.layers.${u}`, h, 1, true, training);
    }
    h = block(p, 'conv_sep', h, training);
    h = block(p, 'features.layers.0', h, training, { kind: 'dw', act: false });
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return batchNormNamed(p, 'features.layers.3', linearNamed(p, 'features.layers.2', flat), training) as tf.Tensor2D;
  });
}

/** Creates insightface's mbf with PyTorch-default random init (load weights with params.loadTorchStateDict). */
export function createMbf(cfg: Readonly<MbfConfig> = MBF_CONFIG, seed = 0): Backbone {
  const params = new ParamStore(new Rng(seed));
  declareMbf(storeDeclarer(params), cfg);
  return {
    params,
    embeddingDim: cfg.emb,
    forward: (x, training) => {
      if (x.shape[1] !== 112 || x.shape[2] !== 112) throw new ShapeError("'x' passed to mbf", '[B,112,112,3]', x.shape);
      return mbfForward(params, cfg, x, training);
    },
  };
}
