/** Names and types of the project's own fused kernels (tfjs kernels keep tfjs's names). */
import type { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

/** GroupNorm forward: inputs x [B,H,W,C], gamma [C], beta [C]; outputs [y, mean [B,G], rstd [B,G]]. */
export const GroupNorm = 'DiffiqaGroupNorm';
/** GroupNorm backward: inputs dy, x, gamma, mean, rstd; outputs [dx, dgamma, dbeta]. */
export const GroupNormGrad = 'DiffiqaGroupNormGrad';

export interface GroupNormInputs extends NamedTensorInfoMap {
  x: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
}

export interface GroupNormGradInputs extends NamedTensorInfoMap {
  dy: TensorInfo;
  x: TensorInfo;
  gamma: TensorInfo;
  mean: TensorInfo;
  rstd: TensorInfo;
}

export interface GroupNormAttrs {
  groups: number;
  epsilon: number;
}

/** Adam update: inputs p, g, m, v (one shape); outputs [p', m', v']. Attrs AdamUpdateAttrs. */
export const AdamUpdate = 'DiffiqaAdamUpdate';

export interface AdamUpdateAttrs {
  gradScale: number;
  beta1: number;
  beta2: number;
  /** sqrt(1 - beta2^t) */
  bc2: number;
  eps: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
}

/** PReLU backward: inputs dy, x, alpha (one value or a vector along x's last axis); outputs [dx, dalpha]. */
export const PreluGrad = 'DiffiqaPreluGrad';

/** SiLU forward: input x; output x·sigmoid(x). */
export const Silu = 'DiffiqaSilu';
/** SiLU backward: inputs dy, x; output dx. */
export const SiluGrad = 'DiffiqaSiluGrad';
/**
 * Channel LayerNorm forward: inputs x [..., C], g [C], optionally residual [..., C] (added to y); outputs
 * [y, mean [rows], rstd [rows]]. Attr epsilon.
 */
export const ChannelNorm = 'DiffiqaChannelNorm';
/** Channel LayerNorm backward: inputs dy, x, g, mean, rstd; outputs [dx, dg]. */
export const ChannelNormGrad = 'DiffiqaChannelNormGrad';
/** LinearAttention core: input qkv [B,H,W,3·heads·d]; output [B,H,W,heads·d]. Attr heads. */
export const LinearAttention = 'DiffiqaLinearAttention';
/**
 * LinearAttention of a bias-free 1x1 projection: inputs x [B,H,W,C], w [1,1,C,3·heads·d]; output as LinearAttention
 * of conv2d(x, w), the [B,H,W,3·heads·d] projection never stored. Attr heads.
 */
export const LinearAttentionProjected = 'DiffiqaLinearAttentionProjected';
/**
 * A LinearAttention block after its PreNorm, forward only: inputs x [B,H,W,C], w [1,1,C,3·heads·d], wo
 * [1,1,heads·d,C'], bo [C'], g [C'], optionally residual [B,H,W,C']; output channelLayerNorm(conv2d(LinearAttention
 * Projected(x, w), wo) + bo, g) (+ residual) [B,H,W,C']. Attrs heads, epsilon. No gradient: recorded graphs use the
 * separate ops (src/backend/ops/unet-ops.ts).
 */
export const LinearAttentionBlock = 'DiffiqaLinearAttentionBlock';
/**
 * FusedConv2D on the channel concatenation of inputs a [B,H,W,ca] and b [B,H,W,cb], which is never stored: inputs a,
 * b, filter [fH,fW,ca+cb,outC], optional bias; attrs as FusedConv2D's. Forward only (src/backend/ops/concat-conv.ts).
 */
export const ConcatConv2D = 'DiffiqaConcatConv2D';
/** LinearAttention core backward: inputs dy, qkv; output dqkv. Attr heads. */
export const LinearAttentionGrad = 'DiffiqaLinearAttentionGrad';
/** Softmax attention: inputs q, k, v [..., N, d]; output softmax(scale·q kᵀ) v [..., N, d]. Attr scale. */
export const Attention = 'DiffiqaAttention';
/**
 * The UNet block's GroupNorm → FiLM → SiLU: inputs x [B,H,W,C], gamma [C], beta [C], scale [B,C], shift [B,C], and
 * optionally residual [B,H,W,C]; outputs [silu(groupNorm(x)·(1 + scale) + shift) (+ residual), mean [B,G], rstd [B,G]].
 * Attrs groups, epsilon.
 */
export const GroupNormFilmSilu = 'DiffiqaGroupNormFilmSilu';
/** Softmax attention backward: inputs q, k, v, dy; outputs [dq, dk, dv]. Attr scale. */
export const AttentionGrad = 'DiffiqaAttentionGrad';
