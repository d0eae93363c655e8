/**
 * Time conditioning (METHOD §1.1): sinusoidal features of the integer timestep, sin first, then
 * Linear(dim → 4·dim) → exact GELU → Linear(4·dim → 4·dim), named `time_mlp.1` and `time_mlp.3`.
 */
import { tf } from '../backend/tf.js';
import { gelu, linearNamed } from '../nn/layers.js';
import type { ParamStore } from '../nn/params.js';

/**
 * Sinusoidal embedding [B, dim] of timesteps t [B]: half = dim/2, f_k = exp(−k·ln(10000)/(half−1)),
 * output [sin(t·f), cos(t·f)]. Frequencies are rounded to float32 as in the reference.
 */
export function sinusoidalEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const step = Math.log(10000) / (half - 1);
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp(-k * step);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
  });
}

/** The time MLP: [B] timesteps → [B, 4·dim]. */
export function timeMlp(p: ParamStore, t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const h = linearNamed(p, 'time_mlp.1', sinusoidalEmbedding(t, dim));
  return linearNamed(p, 'time_mlp.3', gelu(h) as tf.Tensor2D);
}
