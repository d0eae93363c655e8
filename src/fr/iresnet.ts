/**
 * IResNet (insightface arcface_torch `backbones/iresnet.py`, as used by DifFIQA / eDifFIQA, METHOD §2.1,
 * §4.1) over a ParamStore with insightface's PyTorch parameter names, so that `r18.pth`/`r50.pth`/
 * `r100.pth` (CosFace, Glint360K) load by name.
 *
 * Stem: conv3x3 s1 (no bias) -> BN -> PReLU. IBasicBlock: BN -> conv3x3 -> BN -> PReLU -> conv3x3
 * (stride 2 in the first block of a stage, EXPLICIT pad 1: TF 'same' pads (0,1) on even inputs, METHOD §9)
 * -> BN, plus the shortcut (conv1x1 s2 + BN in the first block). Tail: BN2d -> flatten in PyTorch C-H-W
 * order (we transpose the activations to NCHW before flattening, so fc.weight keeps PyTorch's column order)
 * -> dropout(0) -> FC -> BN1d `features` (weight frozen at 1 upstream). BN eps 1e-5. Output not normalised.
 */
import { tf } from '../backend/tf.js';
import { batchNormNamed, convBnNamed, convNamed, linearNamed, preluNamed } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Rng } from '../util/rng.js';
import { ConfigError, ShapeError } from '../util/errors.js';
import { storeDeclarer, type ParamDeclarer } from './declare.js';
import type { Backbone } from './types.js';

/** IResNet configuration; the real models use width 64, embeddingDim 512, inputSize 112. */
export interface IResNetConfig {
  /** Blocks per stage (r18 [2,2,2,2], r50 [3,4,14,3], r100 [3,13,30,3]). */
  layers: readonly [number, number, number, number];
  /** Stem channels; stage i has width * 2^i channels. */
  width: number;
  embeddingDim: number;
  /** Input side; fixes the FC fan-in (112 -> 7x7). */
  inputSize: number;
}

/** The insightface configurations by registry key. */
export const IRESNET_CONFIGS = {
  r18: { layers: [2, 2, 2, 2], width: 64, embeddingDim: 512, inputSize: 112 },
  r50: { layers: [3, 4, 14, 3], width: 64, embeddingDim: 512, inputSize: 112 },
  r100: { layers: [3, 13, 30, 3], width: 64, embeddingDim: 512, inputSize: 112 },
} as const satisfies Record<string, IResNetConfig>;

/** Side of the final feature map: four stride-2 3x3 convs with pad 1. */
export function iresnetFinalSide(inputSize: number): number {
  let s = inputSize;
  for (let i = 0; i < 4; i++) s = Math.floor((s - 1) / 2) + 1;
  return s;
}

function stageWidth(cfg: Readonly<IResNetConfig>, i: number): number {
  return cfg.width * 2 ** i;
}

/** Declares every parameter in PyTorch state_dict order. */
export function declareIResNet(d: ParamDeclarer, cfg: Readonly<IResNetConfig>): void {
  d.conv('conv1', 3, 3, cfg.width, false);
  d.batchNorm('bn1', cfg.width);
  d.prelu('prelu', cfg.width);
  let inplanes = cfg.width;
  cfg.layers.forEach((blocks, i) => {
    const planes = stageWidth(cfg, i);
    for (let b = 0; b < blocks; b++) {
      const pre = `layer${i + 1}.${b}`;
      d.batchNorm(`${pre}.bn1`, inplanes);
      d.conv(`${pre}.conv1`, 3, inplanes, planes, false);
      d.batchNorm(`${pre}.bn2`, planes);
      d.prelu(`${pre}.prelu`, planes);
      d.conv(`${pre}.conv2`, 3, planes, planes, false);
      d.batchNorm(`${pre}.bn3`, planes);
      if (b === 0) {
        d.conv(`${pre}.downsample.0`, 1, inplanes, planes, false);
        d.batchNorm(`${pre}.downsample.1`, planes);
      }
      inplanes = planes;
    }
  });
  const side = iresnetFinalSide(cfg.inputSize);
  d.batchNorm('bn2', inplanes);
  d.linear('fc', inplanes * side * side, cfg.embeddingDim, true);
  d.batchNorm('features', cfg.embeddingDim, true);
}

function basicBlock(p: ParamStore, pre: string, x: tf.Tensor4D, stride: number, training: boolean): tf.Tensor4D {
  if (!training) return basicBlockInference(p, pre, x, stride);
  let h = batchNormNamed(p, `${pre}.bn1`, x, training) as tf.Tensor4D;
  h = convNamed(p, `${pre}.conv1`, h, { padding: 1 });
  h = preluNamed(p, `${pre}.prelu`, batchNormNamed(p, `${pre}.bn2`, h, training)) as tf.Tensor4D;
  h = convNamed(p, `${pre}.conv2`, h, { stride, padding: 1 });
  h = batchNormNamed(p, `${pre}.bn3`, h, training) as tf.Tensor4D;
  const shortcut = p.has(`${pre}.downsample.0.weight`)
    ? (batchNormNamed(p, `${pre}.downsample.1`, convNamed(p, `${pre}.downsample.0`, x, { stride }), training) as tf.Tensor4D)
    : x;
  return tf.add(h, shortcut);
}

/**
 * basicBlock in eval mode with every BatchNorm that follows a conv folded into it (bn2 + PReLU into conv1, bn3 into
 * conv2, the downsample BN into its conv): the same function up to float rounding, with three fewer passes over the
 * block's activations. bn1 precedes a padded conv, so it cannot fold and stays.
 */
function basicBlockInference(p: ParamStore, pre: string, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  let h = batchNormNamed(p, `${pre}.bn1`, x, false) as tf.Tensor4D;
  h = convBnNamed(p, { conv: `${pre}.conv1`, bn: `${pre}.bn2`, prelu: `${pre}.prelu` }, h, { padding: 1 });
  h = convBnNamed(p, { conv: `${pre}.conv2`, bn: `${pre}.bn3` }, h, { stride, padding: 1 });
  const shortcut = p.has(`${pre}.downsample.0.weight`) ? convBnNamed(p, { conv: `${pre}.downsample.0`, bn: `${pre}.downsample.1` }, x, { stride }) : x;
  return tf.add(h, shortcut);
}

/** Forward pass: [B,S,S,3] RGB in [0,1] -> [B,embeddingDim]; normalises to [-1,1] first (METHOD §2.1). */
export function iresnetForward(p: ParamStore, cfg: Readonly<IResNetConfig>, x: tf.Tensor4D, training: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    let h = tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
    h = training
      ? (preluNamed(p, 'prelu', batchNormNamed(p, 'bn1', convNamed(p, 'conv1', h, { padding: 1 }), true)) as tf.Tensor4D)
      : convBnNamed(p, { conv: 'conv1', bn: 'bn1', prelu: 'prelu' }, h, { padding: 1 });
    cfg.layers.forEach((blocks, i) => {
      for (let b = 0; b < blocks; b++) h = basicBlock(p, `layer${i + 1}.${b}`, h, b === 0 ? 2 : 1, training);
    });
    h = batchNormNamed(p, 'bn2', h, training) as tf.Tensor4D;
    // PyTorch flattens C-H-W: go to NCHW first (METHOD §9, the #1 source of silent mismatch).
    const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [h.shape[0], -1]) as tf.Tensor2D;
    return batchNormNamed(p, 'features', linearNamed(p, 'fc', flat), training) as tf.Tensor2D;
  });
}

/** Creates an IResNet with PyTorch-default random init (load weights with params.loadTorchStateDict). */
export function createIResNet(cfg: Readonly<IResNetConfig>, seed = 0): Backbone {
  if (cfg.layers.length !== 4 || cfg.layers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new ConfigError('iresnet', 'layers', `expected 4 positive integers, got [${cfg.layers}]`);
  }
  const params = new ParamStore(new Rng(seed));
  declareIResNet(storeDeclarer(params), cfg);
  return {
    params,
    embeddingDim: cfg.embeddingDim,
    forward: (x, training) => {
      if (x.shape[1] !== cfg.inputSize || x.shape[2] !== cfg.inputSize) {
        throw new ShapeError("'x' passed to iresnet", `[B,${cfg.inputSize},${cfg.inputSize},3]`, x.shape);
      }
      return iresnetForward(params, cfg, x, training);
    },
  };
}
