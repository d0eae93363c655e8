/**
 * Gradient of DiffiqaGroupNorm: one DiffiqaGroupNormGrad call yields dx, dgamma and dbeta together. They are
 * computed eagerly when tfjs asks for the node's gradient map (each closure then only hands its tensor over),
 * because tfjs runs every closure in its own tidy and a lazily shared result would be disposed in between.
 */
import { engine } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { GroupNorm, GroupNormGrad } from '../kernel-names.js';

export const groupNormGradConfig: GradConfig = {
  kernelName: GroupNorm,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, gamma, mean, rstd] = saved as [Tensor, Tensor, Tensor, Tensor];
    const dyY = (Array.isArray(dy) ? dy[0] : dy) as Tensor;
    const [dx, dgamma, dbeta] = engine().runKernel(
      GroupNormGrad,
      { dy: dyY, x, gamma, mean, rstd },
      attrs,
    ) as Tensor[];
    return { x: () => dx as Tensor, gamma: () => dgamma as Tensor, beta: () => dbeta as Tensor };
  },
};
