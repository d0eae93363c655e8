/**
 * The UNet's attention blocks (METHOD §1.1), NHWC. Both take their qkv from a bias-free 1x1 conv whose
 * output channels are ordered (q|k|v) then (head, feature), as the reference's `'b (h c) x y'`.
 */
import { linearAttentionBlock, softmaxAttention } from '../backend/ops/unet-ops.js';
import { tf } from '../backend/tf.js';
import { convNamed } from '../nn/layers.js';
import type { ParamStore } from '../nn/params.js';
import { NORM_EPS } from './blocks.js';

/** Splits a 1x1 qkv projection into q, k, v laid out [B, heads, N, d]. */
function splitHeads(qkv: tf.Tensor4D, heads: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [b, h, w, c3] = qkv.shape;
  const d = c3 / 3 / heads;
  const parts = tf.split(qkv, 3, 3);
  return parts.map((t) => tf.transpose(tf.reshape(t, [b, h * w, heads, d]), [0, 2, 1, 3])) as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
  ];
}

/** [B, heads, N, d] → [B, H, W, heads·d]. */
function mergeHeads(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [b, heads, , d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, h, w, heads * d]);
}

/**
 * LinearAttention: q softmax over features, k softmax over space, q·d^−½, v/(H·W); context = Σ_n k vᵀ,
 * out = contextᵀ q; then to_out.0 (1x1 conv) and to_out.1 (channel LayerNorm), plus `residual` when given (the
 * enclosing Residual's skip, added in the LayerNorm's pass). `prefix` is the module itself (e.g. `downs.0.2.fn.fn`).
 */
export function linearAttention(p: ParamStore, prefix: string, x: tf.Tensor4D, heads: number, residual?: tf.Tensor4D): tf.Tensor4D {
  // The whole block is one op (src/backend/ops/unet-ops.ts): on `native`, one kernel when no gradient is recorded.
  const g = p.get(`${prefix}.to_out.1.g`);
  return linearAttentionBlock(
    x, p.get(`${prefix}.to_qkv.weight`) as tf.Tensor4D, heads, p.get(`${prefix}.to_out.0.weight`) as tf.Tensor4D,
    p.get(`${prefix}.to_out.0.bias`) as tf.Tensor1D, tf.reshape(g, [g.size]) as tf.Tensor1D, NORM_EPS, residual,
  );
}

/** F.normalize: x / max(‖x‖₂, 1e-12) along `axis`. */
function l2normalize(x: tf.Tensor4D, axis: number): tf.Tensor4D {
  const norm = tf.sqrt(tf.sum(tf.square(x), axis, true));
  return tf.div(x, tf.maximum(norm, 1e-12));
}

/**
 * Full softmax attention at the bottleneck with a fixed logit scale of 10. With `fixNorm` false, q and k
 * are L2-normalised along the SPATIAL axis N, replicating the reference quirk (its l2norm acts on the last
 * axis of a (b, h, d, n) tensor, METHOD §1.1) so reference weights stay valid; true normalises along d.
 */
export function fullAttention(p: ParamStore, prefix: string, x: tf.Tensor4D, heads: number, fixNorm: boolean): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [q0, k0, v] = splitHeads(convNamed(p, `${prefix}.to_qkv`, x), heads);
  const axis = fixNorm ? 3 : 2;
  const q = l2normalize(q0, axis);
  const k = l2normalize(k0, axis);
  // softmax(10·q kᵀ) v, [B,heads,N,d]: one kernel on `native` that never stores the [B,heads,N,N] logits.
  const out = softmaxAttention(q, k, v, 10);
  return convNamed(p, `${prefix}.to_out`, mergeHeads(out as tf.Tensor4D, h, w));
}
