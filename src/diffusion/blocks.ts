/**
 * UNet building blocks (METHOD §1.1), as functions over a ParamStore addressed by the reference module
 * prefix. NHWC tensors; callers own tf.tidy.
 */
import { recordingGradients, tf } from '../backend/tf.js';
import { type ConvInput, conv2d, convNamed, linearNamed, silu } from '../nn/layers.js';
import { groupNormFilmSilu } from '../backend/ops/unet-ops.js';
import { channelLayerNorm } from '../nn/norms.js';
import type { ParamStore } from '../nn/params.js';

/** eps of the reference's fp32 weight standardisation, GroupNorm and channel LayerNorm. */
export const NORM_EPS = 1e-5;

/**
 * Weight standardisation per output channel: (w − mean)/√(var + eps) over (kh, kw, cin), biased variance.
 * Computed in graph so gradients flow to the raw weight, as in training (METHOD §9).
 */
export function standardizeWeight(w: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(w, [0, 1, 2], true);
  return tf.mul(tf.sub(w, mean), tf.rsqrt(tf.add(variance, NORM_EPS))) as tf.Tensor4D;
}

/**
 * WeightStandardizedConv2d 3x3, padding 1, with bias, named `${prefix}.weight/.bias`. Outside gradient recording the
 * standardised weight is computed once per weight value (ParamStore.derived): its seven small ops per conv were half
 * of a cpu-small forward's ~560 kernel calls, each costing JS dispatch time while the worker threads wait.
 */
export function wsConvNamed(p: ParamStore, prefix: string, x: ConvInput): tf.Tensor4D {
  const raw = p.get(`${prefix}.weight`) as tf.Tensor4D;
  const w = recordingGradients() ? standardizeWeight(raw) : (p.derived(`ws:${prefix}`, [raw], () => [standardizeWeight(raw)])[0] as tf.Tensor4D);
  return conv2d(x, w, p.get(`${prefix}.bias`) as tf.Tensor1D, { padding: 1 });
}

/** The per-sample FiLM parameters (scale, shift) [B,C] a ResNet block derives from the time embedding. */
export interface ScaleShift {
  scale: tf.Tensor2D;
  shift: tf.Tensor2D;
}

/**
 * Block: WS conv → GroupNorm → optional FiLM (a·(scale+1)+shift) → SiLU (the last three one fused op), plus
 * `residual` when given (the ResNet block's skip, added in the same pass).
 */
export function block(p: ParamStore, prefix: string, x: ConvInput, groups: number, film?: ScaleShift, residual?: tf.Tensor4D): tf.Tensor4D {
  const h = wsConvNamed(p, `${prefix}.proj`, x);
  return groupNormFilmSilu(h, p.get(`${prefix}.norm.weight`), p.get(`${prefix}.norm.bias`), groups, NORM_EPS, film?.scale, film?.shift, residual);
}

/**
 * ResnetBlock: FiLM from SiLU(t) → Linear(time_dim → 2·C_out) split as (scale, shift); h = block2(block1(x, film));
 * out = h + res_conv(x) (1x1 conv when C_in ≠ C_out, identity otherwise). x [B,H,W,Cin], or a pair of maps whose
 * channel concatenation is the input (the up path's (x, skip), never stored on `native`); tEmb [B,time_dim].
 */
export function resnetBlock(p: ParamStore, prefix: string, x: ConvInput, tEmb: tf.Tensor2D, groups: number): tf.Tensor4D {
  const ss = linearNamed(p, `${prefix}.mlp.1`, silu(tEmb) as tf.Tensor2D);
  const [scale, shift] = tf.split(ss, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  const hasResConv = p.has(`${prefix}.res_conv.weight`);
  if (!hasResConv && Array.isArray(x)) throw new Error(`${prefix}: a map pair needs a res_conv (its channels differ from the output's)`);
  const res = hasResConv ? convNamed(p, `${prefix}.res_conv`, x) : (x as tf.Tensor4D);
  return block(p, `${prefix}.block2`, block(p, `${prefix}.block1`, x, groups, { scale, shift }), groups, undefined, res);
}

/** The reference's channel LayerNorm with its [1,C,1,1] gain `${name}` (plus `residual` when given, in the same pass). */
export function layerNormNamed(p: ParamStore, name: string, x: tf.Tensor4D, residual?: tf.Tensor4D): tf.Tensor4D {
  const g = p.get(name);
  return channelLayerNorm(x, tf.reshape(g, [g.size]) as tf.Tensor1D, NORM_EPS, residual);
}

/** Downsample: 4x4 conv, stride 2, explicit padding 1 (METHOD §9: not 'same'). */
export function downsample(p: ParamStore, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  return convNamed(p, prefix, x, { stride: 2, padding: 1 });
}

/** Upsample: nearest ×2 (no align corners, no half-pixel centres, as nn.Upsample) then 3x3 conv pad 1. */
export function upsample(p: ParamStore, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const up = tf.image.resizeNearestNeighbor(x, [h * 2, w * 2], false, false);
  return convNamed(p, prefix, up, { padding: 1 });
}
