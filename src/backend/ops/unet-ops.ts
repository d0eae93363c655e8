/**
 * Fused UNet layers as single ops: SiLU, the channel LayerNorm of the attention blocks, and the LinearAttention core.
 * On a backend with the fused kernels (`native`, src/backend/kernels/UnetOps.ts) each is one native kernel forward
 * and one backward (instead of 2-12 tfjs kernels, each a pass over the activation); elsewhere, and for float
 * types other than float32, they compose tfjs ops with the same maths, so models never branch. The composites are
 * also the tests' references.
 */
import { engine, getKernel } from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';
import { ShapeError } from '../../util/errors.js';
import { Attention, ChannelNorm, GroupNormFilmSilu, LinearAttention, LinearAttentionBlock, LinearAttentionProjected, Silu } from '../kernel-names.js';
import { groupNorm } from './group-norm.js';
import { recordingGradients, tf } from '../tf.js';

function fused(kernel: string, x: Tensor): boolean {
  return x.dtype === 'float32' && getKernel(kernel, tf.getBackend()) !== undefined;
}

/** Throws unless an optional residual has x's shape; true when there is none or it is float32 (the fused kernels'). */
function residualFits(op: string, x: Tensor4D, residual: Tensor4D | undefined): boolean {
  if (residual === undefined) return true;
  if (residual.shape.join() !== x.shape.join()) throw new ShapeError(`${op} residual`, `[${x.shape.join(',')}]`, residual.shape);
  return residual.dtype === 'float32';
}

/** y + residual, or y without one (the composites' skip connection). */
function plusResidual(y: Tensor4D, residual: Tensor4D | undefined): Tensor4D {
  return residual !== undefined ? tf.add(y, residual) : y;
}

/** SiLU, x·sigmoid(x). */
export function silu(x: Tensor): Tensor {
  if (fused(Silu, x)) return engine().runKernel(Silu, { x }) as Tensor;
  return siluComposite(x);
}

export function siluComposite(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/**
 * Normalisation over the channel (last) axis per pixel with a gain and no bias: (x − mean_c)/√(var_c + eps)·g,
 * biased variance (the reference's "LayerNorm" for NCHW maps, METHOD §1.1). x [..., C], g [C]. With `residual` (x's
 * shape) the result is that plus the residual, added in the same pass on `native` (the bits of a separate add).
 */
export function channelLayerNorm(x: Tensor4D, g: Tensor1D, eps: number, residual?: Tensor4D): Tensor4D {
  const c = x.shape[3];
  if (g.rank !== 1 || g.size !== c) throw new ShapeError('channelLayerNorm g', `[${c}]`, g.shape);
  if (!residualFits('channelLayerNorm', x, residual) || !fused(ChannelNorm, x) || g.dtype !== 'float32') {
    return channelLayerNormComposite(x, g, eps, residual);
  }
  const inputs: NamedTensorMap = residual !== undefined ? { x, g, residual } : { x, g };
  const [y, mean, rstd] = engine().runKernel(ChannelNorm, inputs, { epsilon: eps }) as Tensor[];
  // mean/rstd are only for the gradient; the tape keeps its own references when it records.
  mean?.dispose();
  rstd?.dispose();
  return y as Tensor4D;
}

export function channelLayerNormComposite(x: Tensor4D, g: Tensor1D, eps: number, residual?: Tensor4D): Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return plusResidual(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g) as Tensor4D, residual);
  });
}

/**
 * The LinearAttention core on a 1x1 qkv projection [B,H,W,3·heads·d] whose channels are (q|k|v) then (head,
 * feature): q softmax over features, k softmax over space, q·d^−½, v/(H·W); context = Σ_n k vᵀ, out = contextᵀ q,
 * returned as [B,H,W,heads·d] (before to_out).
 */
export function linearAttentionCore(qkv: Tensor4D, heads: number): Tensor4D {
  const c3 = qkv.shape[3];
  if (qkv.rank !== 4 || c3 % (3 * heads) !== 0) throw new ShapeError('linearAttentionCore qkv', `[B,H,W,3·${heads}·d]`, qkv.shape);
  if (fused(LinearAttention, qkv)) return engine().runKernel(LinearAttention, { qkv }, { heads }) as Tensor4D;
  return linearAttentionCoreComposite(qkv, heads);
}

/**
 * linearAttentionCore(conv2d(x, w), heads) for a bias-free 1x1 projection w [1,1,C,3·heads·d]. On `native` one
 * kernel that projects each block of rows where it is used, so the [B,H,W,3·heads·d] tensor (6x the input at the
 * UNet's 112 px level of cpu-small) is never written and read back; the same bits as the two ops, forward and backward.
 */
export function linearAttentionProjected(x: Tensor4D, w: Tensor4D, heads: number): Tensor4D {
  const [kh, kw, c, c3] = w.shape;
  if (w.rank !== 4 || kh !== 1 || kw !== 1 || c !== x.shape[3] || c3 % (3 * heads) !== 0) {
    throw new ShapeError('linearAttentionProjected w', `[1,1,${x.shape[3]},3·${heads}·d]`, w.shape);
  }
  if (fused(LinearAttentionProjected, x) && w.dtype === 'float32') return engine().runKernel(LinearAttentionProjected, { x, w }, { heads }) as Tensor4D;
  return tf.tidy(() => linearAttentionCore(tf.conv2d(x, w, 1, 'valid'), heads));
}

/**
 * A LinearAttention block after its PreNorm: channelLayerNorm(conv2d(linearAttentionProjected(x, w, heads), wo) + bo,
 * g, eps) (+ residual), i.e. to_qkv, the core, to_out.0, to_out.1 and the enclosing Residual's skip. On `native`, when
 * no gradient is being recorded, one kernel that applies to_out to each block of rows while it is in cache, so
 * neither the core's [B,H,W,heads·d] output nor the projection is written and read back (about a third of the
 * block's time at cpu-small's 112 px level); it computes the same bits as the separate ops (tested), which run
 * otherwise, since they have gradients.
 */
export function linearAttentionBlock(
  x: Tensor4D, w: Tensor4D, heads: number, wo: Tensor4D, bo: Tensor1D, g: Tensor1D, eps: number, residual?: Tensor4D,
): Tensor4D {
  const oc = wo.shape[3];
  if (wo.rank !== 4 || wo.shape[0] !== 1 || wo.shape[1] !== 1 || bo.size !== oc) {
    throw new ShapeError('linearAttentionBlock wo/bo', `[1,1,heads·d,C'] and [C']`, wo.rank !== 4 ? wo.shape : bo.shape);
  }
  const separate = () => {
    const y = tf.fused.conv2d({ x: linearAttentionProjected(x, w, heads), filter: wo, strides: 1, pad: 'valid', bias: bo });
    return channelLayerNorm(y as Tensor4D, g, eps, residual);
  };
  const outShape = [...x.shape.slice(0, 3), oc];
  if (residual !== undefined && residual.shape.join() !== outShape.join()) {
    throw new ShapeError('linearAttentionBlock residual', `[${outShape.join(',')}]`, residual.shape);
  }
  const all = [x, w, wo, bo, g, ...(residual !== undefined ? [residual] : [])];
  // The fused kernel has no gradient.
  if (recordingGradients() || !fused(LinearAttentionBlock, x) || all.some((t) => t.dtype !== 'float32')) return tf.tidy(separate);
  const inputs: NamedTensorMap = residual !== undefined ? { x, w, wo, bo, g, residual } : { x, w, wo, bo, g };
  return engine().runKernel(LinearAttentionBlock, inputs, { heads, epsilon: eps }) as Tensor4D;
}

export function linearAttentionCoreComposite(qkv: Tensor4D, heads: number): Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c3] = qkv.shape;
    const d = c3 / 3 / heads;
    const [q0, k0, v0] = tf.split(qkv, 3, 3).map((t) => tf.transpose(tf.reshape(t, [b, h * w, heads, d]), [0, 2, 1, 3])) as [
      Tensor4D,
      Tensor4D,
      Tensor4D,
    ];
    const q = tf.mul(tf.softmax(q0, -1), d ** -0.5);
    const k = tf.softmax(tf.transpose(k0, [0, 1, 3, 2]), -1); // [B,heads,d,N], softmax over N
    const v = tf.div(v0, h * w);
    const context = tf.matMul(k, v); // [B,heads,d,e] = Σ_n k[d,n] v[n,e]
    const out = tf.matMul(q, context); // [B,heads,N,e]
    return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, h, w, heads * d]) as Tensor4D;
  });
}

/**
 * Softmax attention softmax(scale·q kᵀ) v over the last two axes of q, k, v [..., N, d] (same shapes). On `native`
 * one kernel that never materialises the N x N matrix (the backward recomputes it).
 */
export function softmaxAttention(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  if (q.rank < 2 || k.shape.join() !== q.shape.join() || v.shape.join() !== q.shape.join()) {
    throw new ShapeError('softmaxAttention k and v', `q's shape [${q.shape.join(',')}]`, k.shape.join() !== q.shape.join() ? k.shape : v.shape);
  }
  if (fused(Attention, q) && k.dtype === 'float32' && v.dtype === 'float32') {
    return engine().runKernel(Attention, { q, k, v }, { scale }) as Tensor;
  }
  return softmaxAttentionComposite(q, k, v, scale);
}

export function softmaxAttentionComposite(q: Tensor, k: Tensor, v: Tensor, scale: number): Tensor {
  return tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale), -1), v));
}

/**
 * The UNet block after its convolution: silu(groupNorm(x)·(1 + scale) + shift), x [B,H,W,C], gamma/beta [C], the
 * FiLM scale/shift [B,C] per sample (omitted: no FiLM), plus `residual` [B,H,W,C] when given (a ResNet block's skip,
 * added in the same pass: the bits of a separate add). One sweep over x on `native` (stats, then one fused pass).
 */
export function groupNormFilmSilu(
  x: Tensor4D, gamma: Tensor, beta: Tensor, groups: number, eps: number, scale?: Tensor, shift?: Tensor, residual?: Tensor4D,
): Tensor4D {
  const [b, , , c] = x.shape;
  for (const [name, t] of [['scale', scale], ['shift', shift]] as const) {
    if (t !== undefined && (t.rank !== 2 || t.shape[0] !== b || t.shape[1] !== c)) throw new ShapeError(`groupNormFilmSilu ${name}`, `[${b},${c}]`, t.shape);
  }
  const nativePath = residualFits('groupNormFilmSilu', x, residual) && fused(GroupNormFilmSilu, x) && c % groups === 0 && gamma.size === c && beta.size === c;
  if (!nativePath) return groupNormFilmSiluComposite(x, gamma, beta, groups, eps, scale, shift, residual);
  return tf.tidy(() => {
    const s = scale ?? tf.zeros([b, c]);
    const sh = shift ?? tf.zeros([b, c]);
    const inputs = { x, gamma, beta, scale: s, shift: sh, ...(residual !== undefined ? { residual } : {}) };
    const [y, mean, rstd] = engine().runKernel(GroupNormFilmSilu, inputs, { groups, epsilon: eps }) as Tensor[];
    mean?.dispose();
    rstd?.dispose();
    return y as Tensor4D;
  });
}

export function groupNormFilmSiluComposite(
  x: Tensor4D, gamma: Tensor, beta: Tensor, groups: number, eps: number, scale?: Tensor, shift?: Tensor, residual?: Tensor4D,
): Tensor4D {
  return tf.tidy(() => {
    const [b, , , c] = x.shape;
    let h = groupNorm(x, gamma, beta, groups, eps) as Tensor4D;
    if (scale !== undefined) h = tf.mul(h, tf.add(tf.reshape(scale, [b, 1, 1, c]), 1));
    if (shift !== undefined) h = tf.add(h, tf.reshape(shift, [b, 1, 1, c]));
    return plusResidual(siluComposite(h) as Tensor4D, residual);
  });
}
