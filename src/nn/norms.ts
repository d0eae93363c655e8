/**
 * Normalisation layers without a tfjs kernel, written as composites of tfjs ops (so autodiff gives their
 * gradients). NHWC throughout. METHOD §9 "Norm layers".
 */
import { tf } from '../backend/tf.js';
import { ShapeError } from '../util/errors.js';

/**
 * GroupNorm as torch.nn.GroupNorm: channels split into `groups` contiguous groups, statistics over
 * (H, W, channels of the group) per sample with the biased variance, then a per-channel affine.
 * x [B,H,W,C], gamma/beta [C]; C must be divisible by groups.
 * @throws ShapeError when C is not a multiple of `groups`.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (c % groups !== 0) throw new ShapeError('groupNorm x', `channels divisible by ${groups}`, x.shape);
  return tf.tidy(() => {
    const xg = tf.reshape(x, [b, h, w, groups, c / groups]);
    const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
    const normed = tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(tf.reshape(normed, [b, h, w, c]), gamma), beta) as tf.Tensor4D;
  });
}

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
