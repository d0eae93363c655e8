/**
 * One Adam update of a parameter as one op (PyTorch semantics, as src/train/adam.ts applies it): on a backend with
 * the DiffiqaAdamUpdate kernel (`native`) one pass computes p', m' and v' (instead of ~12 tfjs ops, each a pass and
 * a dispatch); elsewhere, and for dtypes other than float32, the composite below, which is also the tests'
 * reference. Both round every scalar to float32 and apply the same float32 operations in the same order.
 */
import { engine, getKernel } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { ShapeError } from '../../util/errors.js';
import { AdamUpdate, type AdamUpdateAttrs } from '../kernel-names.js';
import { tf } from '../tf.js';

/**
 * g' = g·gradScale (skipped when 1); m' = m·β1 + g'·(1−β1); v' = v·β2 + g'²·(1−β2);
 * p' = p − (m' / (√v'/bc2 + eps))·stepSize. Returns [p', m', v'].
 */
export function adamUpdate(p: Tensor, g: Tensor, m: Tensor, v: Tensor, a: AdamUpdateAttrs): [Tensor, Tensor, Tensor] {
  for (const [name, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) throw new ShapeError(`adamUpdate ${name}`, `[${p.shape}]`, t.shape);
  }
  const fused = [p, g, m, v].every((t) => t.dtype === 'float32') && getKernel(AdamUpdate, tf.getBackend()) !== undefined;
  if (!fused) return adamUpdateComposite(p, g, m, v, a);
  return engine().runKernel(AdamUpdate, { p, g, m, v }, a as unknown as NamedAttrMap) as [Tensor, Tensor, Tensor];
}

export function adamUpdateComposite(p: Tensor, g: Tensor, m: Tensor, v: Tensor, a: AdamUpdateAttrs): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const gs = a.gradScale === 1 ? g : g.mul(a.gradScale);
    const m1 = m.mul(a.beta1).add(gs.mul(1 - a.beta1));
    const v1 = v.mul(a.beta2).add(gs.square().mul(1 - a.beta2));
    const denom = v1.sqrt().div(a.bc2).add(a.eps);
    return [p.sub(m1.div(denom).mul(a.stepSize)), m1, v1] as [Tensor, Tensor, Tensor];
  });
}
