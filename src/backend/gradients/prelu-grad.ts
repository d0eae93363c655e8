/**
 * The Prelu gradient, re-registered so that on `native` it is one PreluGrad kernel (dx and dalpha in one pass)
 * instead of tfjs's Greater + 2 Select + ZerosLike + 2 Multiply + Sum, a pass over the activation each (together a
 * third of a mobileface training step). Everywhere else (other backends, other dtypes, alpha shapes the kernel does
 * not index) it defers to the gradient tfjs registered, which is also the tests' reference. The gradient registry
 * is global, so the dispatch is on the active backend at the time the gradient runs.
 */
import { engine, getKernel, Prelu } from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { PreluGrad } from '../kernel-names.js';
import { isPreluChannelAlpha } from '../kernels/Prelu.js';

/** Wraps tfjs's own Prelu gradient (`base`) with the native one-pass kernel where it applies. */
export function nativePreluGradConfig(base: GradConfig): GradConfig {
  const baseFunc = base.gradFunc;
  return {
    kernelName: Prelu,
    inputsToSave: ['x', 'alpha'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, alpha] = saved as [Tensor, Tensor];
      const d = (Array.isArray(dy) ? dy[0] : dy) as Tensor;
      const native =
        getKernel(PreluGrad, engine().backendName) !== undefined &&
        x.dtype === 'float32' && alpha.dtype === 'float32' && d.dtype === 'float32' &&
        isPreluChannelAlpha(x, alpha);
      if (!native) return baseFunc(dy, saved, attrs);
      // Both results at once (one pass); each closure hands its tensor over (see group-norm-grad.ts for why eager).
      const [dx, dalpha] = engine().runKernel(PreluGrad, { dy: d, x, alpha }) as Tensor[];
      return { x: () => dx as Tensor, alpha: () => dalpha as Tensor };
    },
  };
}
