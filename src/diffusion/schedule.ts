/**
 * Noise schedules (METHOD §1.2). Computed once in float64 on the host; only the coefficients gathered
 * per batch become tensors (STYLE §2.4).
 */
import { RegistryError } from '../util/errors.js';

/** The per-step coefficients of a discrete diffusion process with `timesteps` steps. */
export interface NoiseSchedule {
  readonly timesteps: number;
  /** β_t, t = 0..T-1. */
  readonly betas: Float64Array;
  /** ᾱ_t = Π_{i≤t} (1 − β_i), t = 0..T-1. */
  readonly alphaBar: Float64Array;
}

/**
 * The cosine schedule of Nichol & Dhariwal, as the reference's `cosine_beta_schedule`: f(x) = cos²(((x/T)+s)/(1+s)·π/2)
 * on x = 0..T, β_t = 1 − f(t+1)/f(t) clipped to [0, 0.999], ᾱ = cumprod(1 − β). Float64 throughout (the
 * reference computes in float64 then stores float32 buffers; we keep float64, a ≤1e-7 difference).
 */
export function cosineSchedule(timesteps: number, s = 0.008): NoiseSchedule {
  const f = (x: number): number => Math.cos(((x / timesteps + s) / (1 + s)) * Math.PI * 0.5) ** 2;
  const f0 = f(0);
  const betas = new Float64Array(timesteps);
  const alphaBar = new Float64Array(timesteps);
  let prod = 1;
  for (let t = 0; t < timesteps; t++) {
    const beta = 1 - f(t + 1) / f0 / (f(t) / f0);
    betas[t] = Math.min(Math.max(beta, 0), 0.999);
    prod *= 1 - (betas[t] as number);
    alphaBar[t] = prod;
  }
  return { timesteps, betas, alphaBar };
}

/** Linear β schedule (1e-4 → 0.02, scaled by 1000/T); present in the reference but unused (METHOD §1.2). */
export function linearSchedule(timesteps: number): NoiseSchedule {
  const scale = 1000 / timesteps;
  const betas = new Float64Array(timesteps);
  const alphaBar = new Float64Array(timesteps);
  let prod = 1;
  for (let t = 0; t < timesteps; t++) {
    betas[t] = scale * 1e-4 + ((scale * 0.02 - scale * 1e-4) * t) / Math.max(timesteps - 1, 1);
    prod *= 1 - (betas[t] as number);
    alphaBar[t] = prod;
  }
  return { timesteps, betas, alphaBar };
}

/** Schedules by their permanent config key. */
export const SCHEDULES = { cosine: cosineSchedule, linear: linearSchedule } as const;
export type ScheduleName = keyof typeof SCHEDULES;

/**
 * The schedule registered as `name`.
 * @throws RegistryError listing the valid names.
 */
export function createSchedule(name: string, timesteps: number): NoiseSchedule {
  if (!(name in SCHEDULES)) throw new RegistryError('noise schedule', name, Object.keys(SCHEDULES));
  return SCHEDULES[name as ScheduleName](timesteps);
}
