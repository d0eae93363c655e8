/**
 * Gradients of the fused UNet kernels (src/backend/kernels/UnetOps.ts), each one native backward call. As for
 * GroupNorm, multi-output backward results are computed eagerly and handed over by the closures.
 */
import { engine } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { ChannelNorm, ChannelNormGrad, LinearAttention, LinearAttentionGrad, Silu, SiluGrad } from '../kernel-names.js';

const first = (dy: Tensor | Tensor[]): Tensor => (Array.isArray(dy) ? dy[0] : dy) as Tensor;

export const siluGradConfig: GradConfig = {
  kernelName: Silu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    return { x: () => engine().runKernel(SiluGrad, { dy: first(dy), x }) as Tensor };
  },
};

export const channelNormGradConfig: GradConfig = {
  kernelName: ChannelNorm,
  inputsToSave: ['x', 'g'],
  outputsToSave: [false, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, g, mean, rstd] = saved as [Tensor, Tensor, Tensor, Tensor];
    const [dx, dg] = engine().runKernel(ChannelNormGrad, { dy: first(dy), x, g, mean, rstd }, attrs) as Tensor[];
    return { x: () => dx as Tensor, g: () => dg as Tensor };
  },
};

export const linearAttentionGradConfig: GradConfig = {
  kernelName: LinearAttention,
  inputsToSave: ['qkv'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [qkv] = saved as [Tensor];
    return { qkv: () => engine().runKernel(LinearAttentionGrad, { dy: first(dy), qkv }, attrs) as Tensor };
  },
};

export const UNET_OP_GRADIENTS: readonly GradConfig[] = [siluGradConfig, channelNormGradConfig, linearAttentionGradConfig];
