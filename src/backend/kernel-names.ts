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
