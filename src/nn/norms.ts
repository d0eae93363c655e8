/**
 * Normalisation layers without a tfjs kernel, written as composites of tfjs ops (so autodiff gives their
 * gradients). NHWC throughout. METHOD §9 "Norm layers". GroupNorm lives in src/backend/ops/group-norm.ts
 * (fused native kernel with a composite fallback).
 */
import { tf } from '../backend/tf.js';

/**
 * Normalisation over the channel axis per pixel with a learned gain and no bias (the reference's
 * "LayerNorm" for NCHW maps, METHOD §1.1): (x - mean_c) / sqrt(var_c + eps) * g. x [B,H,W,C], g [C].
 */
export function channelLayerNorm(x: tf.Tensor4D, g: tf.Tensor1D, eps: number): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g) as tf.Tensor4D;
  });
}
