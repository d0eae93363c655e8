/**
 * GroupNorm as one op (METHOD.md UNet blocks: GroupNorm after each convolution; PyTorch nn.GroupNorm semantics:
 * biased variance, eps inside the square root, per-channel affine). On a backend with the DiffiqaGroupNorm kernel
 * (`native`) it runs the fused native forward/backward; elsewhere it composes tfjs ops, so models never branch.
 */
import { engine, getKernel } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError } from '../../util/errors.js';
import { GroupNorm } from '../kernel-names.js';
import { tf } from '../tf.js';

/** PyTorch's nn.GroupNorm default epsilon. */
export const GROUP_NORM_EPS = 1e-5;

/**
 * Normalises x [B, H, W, C] (any rank >= 2 with channels last) over each (sample, group of C/groups channels),
 * then applies gamma [C] and beta [C].
 * @param groups number of groups; must divide C.
 * @param eps added to the variance (default 1e-5).
 * @throws ShapeError when C is not divisible by groups or gamma/beta are not [C].
 * @example
 * const y = groupNorm(tf.randomNormal([2, 8, 8, 16]), tf.ones([16]), tf.zeros([16]), 4); // shape [2, 8, 8, 16]
 */
export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps = GROUP_NORM_EPS): Tensor {
  const channels = x.shape[x.shape.length - 1] ?? 0;
  if (x.rank < 2) throw new ShapeError('groupNorm x', '[B, ..., C]', x.shape);
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new ShapeError(`groupNorm x (channels divisible by groups=${groups})`, `[B, ..., k*${groups}]`, x.shape);
  }
  if (gamma.size !== channels || gamma.rank !== 1) throw new ShapeError('groupNorm gamma', `[${channels}]`, gamma.shape);
  if (beta.size !== channels || beta.rank !== 1) throw new ShapeError('groupNorm beta', `[${channels}]`, beta.shape);
  if (x.dtype === 'float32' && getKernel(GroupNorm, tf.getBackend()) !== undefined) {
    return runFusedGroupNorm(x, gamma, beta, groups, eps);
  }
  return groupNormComposite(x, gamma, beta, groups, eps);
}

function runFusedGroupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps: number): Tensor {
  const inputs: NamedTensorMap = { x, gamma, beta };
  const attrs: NamedAttrMap = { groups, epsilon: eps };
  const [y, mean, rstd] = engine().runKernel(GroupNorm, inputs, attrs) as Tensor[];
  // mean/rstd are only for the gradient; the tape keeps its own references when it records.
  mean?.dispose();
  rstd?.dispose();
  return y as Tensor;
}

/** The same maths from tfjs ops (used on backends without the fused kernel, and as the tests' reference). */
export function groupNormComposite(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, eps = GROUP_NORM_EPS): Tensor {
  return tf.tidy(() => {
    const batch = x.shape[0] ?? 1;
    const channels = x.shape[x.shape.length - 1] ?? 1;
    const grouped = tf.reshape(x, [batch, -1, groups, channels / groups]);
    const { mean, variance } = tf.moments(grouped, [1, 3], true);
    const normed = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(tf.reshape(normed, x.shape), gamma), beta);
  });
}
