/**
 * The Gaussian diffusion process around the UNet (METHOD §1.3, §1.5, §1.6): forward noising, the
 * extended-DDPM training loss and the DDIM reverse process used for labelling and monitoring. Schedules are
 * host Float64Arrays; per-batch coefficients become [B,1,1,1] tensors. Randomness comes from an Rng.
 */
import { tf } from '../backend/tf.js';
import { DiffiqaError, ShapeError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type NoiseSchedule, cosineSchedule } from './schedule.js';

/** Anything that predicts x̂0 from (x_t, t): a Unet (`apply`), a loaded model (`predictX0`) or a function. */
export type X0Predictor =
  | ((x: tf.Tensor4D, t: tf.Tensor1D) => tf.Tensor4D)
  | { apply(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D }
  | { predictX0(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D };

/** Process settings (reference `diff_params`). */
export interface DiffusionProcessOptions {
  /** Noise schedule; default the cosine schedule over 1000 steps (METHOD §1.2). */
  schedule?: NoiseSchedule;
  /** Training timesteps are drawn from [timeBound[0], timeBound[1]) (default [0, 100]). */
  timeBound?: readonly [number, number];
  /** Degradation-mixing horizon T: a(t) = sin((t/T)·π/2) (default 100). */
  T?: number;
}

let defaultSchedule: NoiseSchedule | null = null;
function scheduleOf(opts: DiffusionProcessOptions): NoiseSchedule {
  if (opts.schedule) return opts.schedule;
  defaultSchedule ??= cosineSchedule(1000);
  return defaultSchedule;
}

function predict(model: X0Predictor, x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  if (typeof model === 'function') return model(x, t);
  return 'predictX0' in model ? model.predictX0(x, t) : model.apply(x, t);
}

/** A per-sample coefficient column [B,1,1,1] from host values. */
function column(values: readonly number[]): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1], 'float32');
}

function checkTimes(t: readonly number[], x: tf.Tensor4D, schedule: NoiseSchedule): void {
  if (t.length !== x.shape[0]) throw new ShapeError("'t' passed to qSample", `[${x.shape[0]}]`, [t.length]);
  for (const v of t) {
    if (!Number.isInteger(v) || v < 0 || v >= schedule.timesteps) {
      throw new ShapeError("'t' passed to qSample", `integers in [0, ${schedule.timesteps})`, `${v}`);
    }
  }
}

/** Forward noising q(x_t | x_0): √ᾱ_t·x0 + √(1−ᾱ_t)·noise, per sample t (host integers). x0, noise [B,H,W,C]. */
export function qSample(x0: tf.Tensor4D, t: readonly number[], noise: tf.Tensor4D, opts: DiffusionProcessOptions = {}): tf.Tensor4D {
  const schedule = scheduleOf(opts);
  checkTimes(t, x0, schedule);
  return tf.tidy(() => {
    const a = column(t.map((v) => Math.sqrt(schedule.alphaBar[v] as number)));
    const s = column(t.map((v) => Math.sqrt(1 - (schedule.alphaBar[v] as number))));
    return tf.add(tf.mul(a, x0), tf.mul(s, noise));
  });
}

/** The degradation mix weight a(t) = sin((t/T)·π/2) of the extended DDPM scheme (METHOD §1.3). */
export function mixWeight(t: number, T: number): number {
  return Math.sin((t / T) * (Math.PI / 2));
}

/**
 * Extended-DDPM training loss (METHOD §1.3) for a batch of HQ/LQ pairs, both [B,H,W,3] already in [−1,1].
 * Draws, in this order from `rng`: t_i ~ U{timeBound[0] … timeBound[1]−1} for each sample, then the noise
 * (B·H·W·C standard normals, row-major NHWC). x_mix = (1−a)·hq + a·lq, x_t = qSample(x_mix, t, ε), target hq,
 * MSE averaged over pixels then batch (p2 weight 1). Returns a scalar; call it inside the optimiser's closure.
 */
export function diffusionLoss(model: X0Predictor, hq: tf.Tensor4D, lq: tf.Tensor4D, rng: Rng, opts: DiffusionProcessOptions = {}): tf.Scalar {
  if (hq.shape.join() !== lq.shape.join()) throw new ShapeError("'lq' passed to diffusionLoss", `[${hq.shape}]`, lq.shape);
  const [lo, hi] = opts.timeBound ?? [0, 100];
  const T = opts.T ?? 100;
  const b = hq.shape[0];
  const t = Array.from({ length: b }, () => rng.int(lo, hi - 1));
  const noiseValues = rng.normalArray(hq.size);
  return tf.tidy(() => {
    const a = column(t.map((v) => mixWeight(v, T)));
    const mix = tf.add(tf.mul(tf.sub(1, a), hq), tf.mul(a, lq)) as tf.Tensor4D;
    const xt = qSample(mix, t, tf.tensor4d(noiseValues, hq.shape), opts);
    const out = predict(model, xt, tf.tensor1d(t, 'int32'));
    return tf.mean(tf.squaredDifference(out, hq)) as tf.Scalar;
  });
}

/**
 * The reference's DDIM time list for a start step t* (`ddim_sample_at_t` with nof_s = t*+1): linspace(−1, t*−1,
 * t*+2) in float32, truncated toward zero, reversed. For t* = 5 this is [4,3,2,1,0,0,−1]. The off-by-one
 * (noising uses ᾱ_{t*} but denoising starts at model time t*−1) and the repeated 0 are kept on purpose:
 * they are part of how DifFIQA's published labels were produced (METHOD §1.6).
 */
export function ddimTimes(tStar: number): number[] {
  const steps = tStar + 2;
  const start = -1;
  const end = tStar - 1;
  // torch.linspace (CPU, float32): the first half counts up from start, the second half down from end.
  const step = Math.fround(Math.fround(end - start) / (steps - 1));
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const v = i < steps / 2 ? Math.fround(start + Math.fround(step * i)) : Math.fround(end - Math.fround(step * (steps - i - 1)));
    out.push(Math.trunc(v) + 0); // + 0 turns -0 into 0
  }
  return out.reverse();
}

/** Options of the DDIM reverse process. */
export interface DdimOptions extends DiffusionProcessOptions {
  /** η: 1 (reference default, stochastic) … 0 (deterministic DDIM). */
  eta?: number;
}

/**
 * One DDIM step (τ → τ'), METHOD §1.6: x̂0 = clamp(model(x, τ), −1, 1); ε̂ = (x/√ᾱ_τ − x̂0)/√(1/ᾱ_τ − 1);
 * τ' < 0 returns x̂0; otherwise √ᾱ_τ'·x̂0 + c·ε̂ + σ·z with σ = η·√((1−ᾱ_τ/ᾱ_τ')(1−ᾱ_τ')/(1−ᾱ_τ)),
 * c = √(1−ᾱ_τ'−σ²), z ~ N(0, I) drawn from `rng` only when σ > 0.
 */
export function ddimStep(model: X0Predictor, x: tf.Tensor4D, tau: number, tauNext: number, rng: Rng, opts: DdimOptions = {}): tf.Tensor4D {
  const ab = scheduleOf(opts).alphaBar;
  const eta = opts.eta ?? 1;
  const a = ab[tau] as number;
  const aNext = tauNext >= 0 ? (ab[tauNext] as number) : 1;
  const sigma = tauNext >= 0 ? eta * Math.sqrt(((1 - a / aNext) * (1 - aNext)) / (1 - a)) : 0;
  // The reference draws z even when σ = 0 (η = 0, or the (0→0) pair); we skip the draw, which changes nothing.
  const z = sigma > 0 ? rng.normalArray(x.size) : null;
  return tf.tidy(() => {
    const tt = tf.fill([x.shape[0]], tau, 'int32') as tf.Tensor1D;
    const x0 = tf.clipByValue(predict(model, x, tt), -1, 1) as tf.Tensor4D;
    if (tauNext < 0) return x0;
    const eps = tf.div(tf.sub(tf.mul(x, Math.sqrt(1 / a)), x0), Math.sqrt(1 / a - 1));
    const c = Math.sqrt(Math.max(1 - aNext - sigma * sigma, 0));
    const mean = tf.add(tf.mul(x0, Math.sqrt(aNext)), tf.mul(eps, c)) as tf.Tensor4D;
    return z ? (tf.add(mean, tf.mul(tf.tensor4d(z, x.shape), sigma)) as tf.Tensor4D) : mean;
  });
}

/**
 * DDIM reconstruction from x_{t*} (METHOD §1.6): runs the pairs of ddimTimes(t*), i.e. t*+1 model
 * evaluations, and returns x̂0 [B,H,W,3] in [−1,1]. Default η = 1 as the reference labelling.
 */
export function ddimReconstruct(model: X0Predictor, xT: tf.Tensor4D, tStar: number, rng: Rng, eta = 1, opts: DiffusionProcessOptions = {}): tf.Tensor4D {
  const times = ddimTimes(tStar);
  let img = tf.clone(xT);
  for (let i = 0; i + 1 < times.length; i++) {
    const next = ddimStep(model, img, times[i] as number, times[i + 1] as number, rng, { ...opts, eta });
    img.dispose();
    img = next;
  }
  return img;
}

/**
 * The monitoring restoration (METHOD §1.5 "Monitoring"): the LQ image itself (no forward noising) is taken
 * as x_{startT} and run through the startT+1 DDIM pairs. Default η = 0 (deterministic, no added noise); the
 * reference's grids used its default η = 1, available by passing `eta: 1` and an `rng`.
 */
export function restore(model: X0Predictor, lq: tf.Tensor4D, startT = 100, opts: DdimOptions & { rng?: Rng } = {}): tf.Tensor4D {
  const eta = opts.eta ?? 0;
  if (eta !== 0 && !opts.rng) throw new DiffiqaError(`restore: eta = ${eta} draws noise, so an 'rng' option is required`, 'E_ARGUMENT');
  const rng = opts.rng ?? new Rng(0); // never drawn from when η = 0
  return ddimReconstruct(model, lq, startT, rng, eta, opts);
}

