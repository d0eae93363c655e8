/**
 * MobileFaceNet as eDifFIQA(T) uses it (eDifFIQA `model/mobilenet.py`, METHOD §4.1) over a ParamStore with
 * its PyTorch parameter names (`conv1.conv.weight`, `conv_3.model.0.conv_dw.bn.running_mean`, ...), so
 * that the `base_model.*` part of `ediffiqaT.pth` loads by name. 512-d output, L2-normalised.
 *
 * conv1 (3x3 s2) -> conv2_dw (depthwise 3x3) -> conv_23 -> conv_3 (residual x4) -> conv_34 -> conv_4 (x6)
 * -> conv_45 -> conv_5 (x2) -> conv_6_sep (1x1) -> conv_6_dw (depthwise 7x7 valid, no PReLU) -> flatten
 * (1x1 spatial, so the order question does not arise) -> linear (no bias) -> BN1d -> x / ||x||.
 * Each "Depth_Wise" unit is 1x1 expand (BN, PReLU) -> depthwise 3x3 (BN, PReLU) -> 1x1 project (BN).
 * All paddings are PyTorch's explicit ones (1 for every 3x3, including the stride-2 ones, METHOD §9).
 *
 * insightface's `mbf` (backbones/mobilefacenet.py) is the same family with a different module layout, names,
 * widths and a grouped stem conv: src/fr/mbf.ts.
 */
import { tf } from '../backend/tf.js';
import { batchNormNamed, convNamed, depthwiseNamed, linearNamed, preluNamed } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Rng } from '../util/rng.js';
import { ShapeError } from '../util/errors.js';
import { storeDeclarer, type ParamDeclarer } from './declare.js';
import type { Backbone } from './types.js';

/** Channel/block configuration; MFN_CONFIG is eDifFIQA's model, smaller ones are for tests. */
export interface MobileFaceNetConfig {
  c1: number; // stem and stage-3 channels
  c2: number; // stage-4/5 channels
  g23: number; // expansion widths ("groups") of conv_23, conv_3, conv_34, conv_4, conv_45, conv_5
  g3: number;
  g34: number;
  g4: number;
  g45: number;
  g5: number;
  n3: number; // residual units in conv_3, conv_4, conv_5
  n4: number;
  n5: number;
  sep: number; // conv_6_sep channels
  emb: number; // embedding size
}

/** eDifFIQA(T)'s MobileFaceNet (about 1.2 M backbone parameters). */
export const MFN_CONFIG: Readonly<MobileFaceNetConfig> = {
  c1: 64, c2: 128, g23: 128, g3: 128, g34: 256, g4: 256, g45: 512, g5: 256, n3: 4, n4: 6, n5: 2, sep: 512, emb: 512,
};

function declareConvBlock(d: ParamDeclarer, pre: string, k: number, cin: number, cout: number, dw: boolean, act: boolean): void {
  if (dw) d.depthwise(`${pre}.conv`, k, cout);
  else d.conv(`${pre}.conv`, k, cin, cout, false);
  d.batchNorm(`${pre}.bn`, cout);
  if (act) d.prelu(`${pre}.prelu`, cout);
}

function declareDepthWise(d: ParamDeclarer, pre: string, cin: number, cout: number, groups: number): void {
  declareConvBlock(d, `${pre}.conv`, 1, cin, groups, false, true);
  declareConvBlock(d, `${pre}.conv_dw`, 3, groups, groups, true, true);
  declareConvBlock(d, `${pre}.project`, 1, groups, cout, false, false);
}

/** Declares every parameter in PyTorch state_dict order. */
export function declareMobileFaceNet(d: ParamDeclarer, c: Readonly<MobileFaceNetConfig>): void {
  declareConvBlock(d, 'conv1', 3, 3, c.c1, false, true);
  declareConvBlock(d, 'conv2_dw', 3, c.c1, c.c1, true, true);
  declareDepthWise(d, 'conv_23', c.c1, c.c1, c.g23);
  for (let i = 0; i < c.n3; i++) declareDepthWise(d, `conv_3.model.${i}`, c.c1, c.c1, c.g3);
  declareDepthWise(d, 'conv_34', c.c1, c.c2, c.g34);
  for (let i = 0; i < c.n4; i++) declareDepthWise(d, `conv_4.model.${i}`, c.c2, c.c2, c.g4);
  declareDepthWise(d, 'conv_45', c.c2, c.c2, c.g45);
  for (let i = 0; i < c.n5; i++) declareDepthWise(d, `conv_5.model.${i}`, c.c2, c.c2, c.g5);
  declareConvBlock(d, 'conv_6_sep', 1, c.c2, c.sep, false, true);
  declareConvBlock(d, 'conv_6_dw', 7, c.sep, c.sep, true, false);
  d.linear('linear', c.sep, c.emb, false);
  d.batchNorm('bn', c.emb);
}

interface BlockOpts {
  stride?: number;
  padding?: number;
  dw?: boolean;
  act?: boolean;
}

function convBlock(p: ParamStore, pre: string, x: tf.Tensor4D, training: boolean, o: BlockOpts = {}): tf.Tensor4D {
  const conv = { stride: o.stride ?? 1, padding: o.padding ?? 0 };
  const y = o.dw ? depthwiseNamed(p, `${pre}.conv`, x, conv) : convNamed(p, `${pre}.conv`, x, conv);
  const n = batchNormNamed(p, `${pre}.bn`, y, training) as tf.Tensor4D;
  return o.act === false ? n : (preluNamed(p, `${pre}.prelu`, n) as tf.Tensor4D);
}

function depthWise(p: ParamStore, pre: string, x: tf.Tensor4D, stride: number, residual: boolean, training: boolean): tf.Tensor4D {
  let h = convBlock(p, `${pre}.conv`, x, training);
  h = convBlock(p, `${pre}.conv_dw`, h, training, { stride, padding: 1, dw: true });
  h = convBlock(p, `${pre}.project`, h, training, { act: false });
  return residual ? tf.add(x, h) : h;
}

/** Forward pass: [B,112,112,3] RGB in [0,1] -> [B,emb], L2-normalised; normalises to [-1,1] first. */
export function mobileFaceNetForward(p: ParamStore, c: Readonly<MobileFaceNetConfig>, x: tf.Tensor4D, training: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    let h = tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
    h = convBlock(p, 'conv1', h, training, { stride: 2, padding: 1 });
    h = convBlock(p, 'conv2_dw', h, training, { padding: 1, dw: true });
    h = depthWise(p, 'conv_23', h, 2, false, training);
    for (let i = 0; i < c.n3; i++) h = depthWise(p, `conv_3.model.${i}`, h, 1, true, training);
    h = depthWise(p, 'conv_34', h, 2, false, training);
    for (let i = 0; i < c.n4; i++) h = depthWise(p, `conv_4.model.${i}`, h, 1, true, training);
    h = depthWise(p, 'conv_45', h, 2, false, training);
    for (let i = 0; i < c.n5; i++) h = depthWise(p, `conv_5.model.${i}`, h, 1, true, training);
    h = convBlock(p, 'conv_6_sep', h, training);
    h = convBlock(p, 'conv_6_dw', h, training, { dw: true, act: false });
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    const e = batchNormNamed(p, 'bn', linearNamed(p, 'linear', flat), training) as tf.Tensor2D;
    // Upstream divides by the plain norm (no epsilon).
    return tf.div(e, tf.norm(e, 2, 1, true)) as tf.Tensor2D;
  });
}

/** Creates a MobileFaceNet with PyTorch-default random init (load weights with params.loadTorchStateDict). */
export function createMobileFaceNet(cfg: Readonly<MobileFaceNetConfig> = MFN_CONFIG, seed = 0): Backbone {
  const params = new ParamStore(new Rng(seed));
  declareMobileFaceNet(storeDeclarer(params), cfg);
  return {
    params,
    embeddingDim: cfg.emb,
    forward: (x, training) => {
      // The 7x7 depthwise head needs a 7x7 map, i.e. 112 px input.
      if (x.shape[1] !== 112 || x.shape[2] !== 112) throw new ShapeError("'x' passed to mobilefacenet", '[B,112,112,3]', x.shape);
      return mobileFaceNetForward(params, cfg, x, training);
    },
  };
}
