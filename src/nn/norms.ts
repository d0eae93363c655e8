/**
 * Normalisation layers without a tfjs kernel. NHWC throughout. METHOD §9 "Norm layers". Both are ops in src/backend/ops
 * (a fused native kernel with its gradient, and a tfjs-op composite elsewhere): GroupNorm in group-norm.ts, the
 * channel LayerNorm in unet-ops.ts.
 */
import { channelLayerNorm as channelLayerNormOp } from '../backend/ops/unet-ops.js';
import type { tf } from '../backend/tf.js';

/**
 * Normalisation over the channel axis per pixel with a learned gain and no bias (the reference's
 * "LayerNorm" for NCHW maps, METHOD §1.1): (x - mean_c) / sqrt(var_c + eps) * g. x [B,H,W,C], g [C].
 */
export function channelLayerNorm(x: tf.Tensor4D, g: tf.Tensor1D, eps: number, residual?: tf.Tensor4D): tf.Tensor4D {
  // One fused kernel (forward and backward) where the backend has it; the tfjs-op composite elsewhere. A residual
  // (x's shape) is added in the same pass.
  return channelLayerNormOp(x, g, eps, residual);
}
