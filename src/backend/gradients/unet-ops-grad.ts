/**
 * Gradients of the fused UNet kernels (src/backend/kernels/UnetOps.ts), each one native backward call. As for
 * GroupNorm, multi-output backward results are computed eagerly and handed over by the closures.
 */
import { add, conv2d, engine, getBackend, getKernel, matMul, mul, reshape, softmax, sub, sum, tidy } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { Attention, AttentionGrad, ChannelNorm, GroupNorm, GroupNormFilmSilu, GroupNormGrad, ChannelNormGrad, LinearAttention, LinearAttentionGrad, LinearAttentionProjected, Silu, SiluGrad } from '../kernel-names.js';

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
    // A residual input (when the call had one) passes dy straight through.
    return { x: () => dx as Tensor, g: () => dg as Tensor, residual: () => first(dy) };
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

/**
 * LinearAttention of a 1x1 projection: the forward never stored qkv = conv2d(x, w), so the backward recomputes it,
 * then runs the kernels the unfused layers' gradients run: LinearAttentionGrad for dqkv, and Conv2D's input and
 * filter gradients with the attributes tfjs's Conv2D gradient gives them. A training step therefore computes the
 * same bits as conv2d followed by linearAttentionCore.
 */
export const linearAttentionProjectedGradConfig: GradConfig = {
  kernelName: LinearAttentionProjected,
  inputsToSave: ['x', 'w'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, w] = saved as [Tensor4D, Tensor4D];
    const dqkv = tidy(() => engine().runKernel(LinearAttentionGrad, { dy: first(dy), qkv: conv2d(x, w, 1, 'valid') }, attrs) as Tensor);
    const conv = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' };
    return {
      x: () => engine().runKernel('Conv2DBackpropInput', { dy: dqkv, filter: w }, { ...conv, inputShape: x.shape }) as Tensor,
      w: () => engine().runKernel('Conv2DBackpropFilter', { x, dy: dqkv }, { ...conv, filterShape: w.shape }) as Tensor,
    };
  },
};

/**
 * Softmax attention: the forward kernel keeps no N x N matrix, so the backward recomputes P = softmax(scale·q kᵀ)
 * row by row in the native DiffiqaAttentionGrad kernel, or (backends without it) with tfjs ops; both apply the usual
 * formulas: dv = Pᵀ dO, dP = dO vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dq = scale·dS k, dk = scale·dSᵀ q.
 */
export const attentionGradConfig: GradConfig = {
  kernelName: Attention,
  inputsToSave: ['q', 'k', 'v'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [q, k, v] = saved as [Tensor, Tensor, Tensor];
    const { scale } = attrs as unknown as { scale: number };
    const dO = first(dy);
    if (getKernel(AttentionGrad, getBackend()) !== undefined) {
      const [dq, dk, dv] = engine().runKernel(AttentionGrad, { q, k, v, dy: dO }, attrs) as Tensor[];
      return { q: () => dq as Tensor, k: () => dk as Tensor, v: () => dv as Tensor };
    }
    // Eagerly, in one tidy, so that the N x N temporaries are freed here rather than at the end of the backward pass.
    const [dq, dk, dv] = tidy(() => {
      const p = softmax(mul(matMul(q, k, false, true), scale));
      const dP = matMul(dO, v, false, true);
      const dS = mul(p, sub(dP, sum(mul(dP, p), -1, true)));
      return [mul(matMul(dS, k), scale), mul(matMul(dS, q, true, false), scale), matMul(p, dO, true, false)];
    });
    return { q: () => dq as Tensor, k: () => dk as Tensor, v: () => dv as Tensor };
  },
};

/**
 * GroupNorm → FiLM → SiLU (+ residual): recomputes u = groupNorm(x) (native) and z = u·(1 + scale) + shift, then
 * dz = SiluGrad(dy, z), dshift = Σ_hw dz, dscale = Σ_hw dz·u, and GroupNormGrad of du = dz·(1 + scale); a residual
 * input gets dy itself (tfjs reads only the gradients of the inputs a call had).
 */
export const groupNormFilmSiluGradConfig: GradConfig = {
  kernelName: GroupNormFilmSilu,
  inputsToSave: ['x', 'gamma', 'beta', 'scale', 'shift'],
  outputsToSave: [false, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, gamma, beta, scale, shift, mean, rstd] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    const g = first(dy);
    const grads = tidy(() => {
      const [b = 1, , , c = 1] = x.shape;
      const s1 = add(reshape(scale, [b, 1, 1, c]), 1);
      const u = (engine().runKernel(GroupNorm, { x, gamma, beta }, attrs) as Tensor[])[0] as Tensor;
      const z = add(mul(u, s1), reshape(shift, [b, 1, 1, c]));
      const dz = engine().runKernel(SiluGrad, { dy: g, x: z }) as Tensor;
      const dShift = reshape(sum(dz, [1, 2]), [b, c]);
      const dScale = reshape(sum(mul(dz, u), [1, 2]), [b, c]);
      const [dx, dGamma, dBeta] = engine().runKernel(GroupNormGrad, { dy: mul(dz, s1), x, gamma, mean, rstd }, attrs) as Tensor[];
      return [dx, dGamma, dBeta, dScale, dShift] as Tensor[];
    });
    const [dx, dGamma, dBeta, dScale, dShift] = grads as [Tensor, Tensor, Tensor, Tensor, Tensor];
    return { x: () => dx, gamma: () => dGamma, beta: () => dBeta, scale: () => dScale, shift: () => dShift, residual: () => g };
  },
};

export const UNET_OP_GRADIENTS: readonly GradConfig[] = [
  siluGradConfig, channelNormGradConfig, linearAttentionGradConfig, linearAttentionProjectedGradConfig, attentionGradConfig,
  groupNormFilmSiluGradConfig,
];
