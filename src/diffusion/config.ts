/**
 * The diffusion training config (configs/diffusion/*.yaml): schema, defaults (the paper's values, METHOD §1)
 * and cross-field checks. Validated once at the boundary; inner code takes `Readonly<DiffusionConfig>`.
 */
import { ConfigError } from '../util/errors.js';
import { type Infer, loadConfigFile, s } from '../util/schema.js';
import type { UnetConfig } from './unet-spec.js';

const pos = () => s.int({ positive: true });

/** unet: the reference `unet_params` plus the attention widths it hard-codes (METHOD §1.1). */
const unetSchema = s.object({
  dim: s.opt(pos(), 128),
  dimMults: s.opt(s.array(pos(), { minLength: 1 }), [1, 2, 4, 8]),
  channels: s.opt(pos(), 3),
  resnetBlockGroups: s.opt(pos(), 8),
  imageSize: s.opt(pos(), 112),
  linearAttnHeads: s.opt(pos(), 4),
  linearAttnDimHead: s.opt(pos(), 32),
  fullAttnHeads: s.opt(pos(), 4),
  fullAttnDimHead: s.opt(pos(), 32),
  fixAttentionNorm: s.opt(s.boolean(), false),
});

/** diffusion: the reference `diff_params` (METHOD §1.2-§1.3, §1.6). */
const processSchema = s.object({
  timesteps: s.opt(pos(), 1000),
  schedule: s.opt(s.enum(['cosine', 'linear'] as const), 'cosine'),
  /** Training t ~ U{timeBound[0] … timeBound[1]−1}. */
  timeBound: s.opt(s.array(s.int({ min: 0 }), { length: 2 }), [0, 100]),
  /** Degradation-mixing horizon: a(t) = sin((t/T)·π/2). */
  T: s.opt(pos(), 100),
  /** DDIM η for reconstructions (reference default 1). */
  ddimEta: s.opt(s.number({ min: 0, max: 1 }), 1),
});

/** train: the reference `trainer_params` (METHOD §1.5) and run bookkeeping. */
const trainSchema = s.object({
  batchSize: s.opt(pos(), 16),
  gradAccumulate: s.opt(pos(), 4),
  steps: s.opt(pos(), 100_000),
  lr: s.opt(s.number({ positive: true }), 8e-5),
  beta1: s.opt(s.number({ min: 0, max: 0.999999 }), 0.9),
  beta2: s.opt(s.number({ min: 0, max: 0.999999 }), 0.99),
  emaDecay: s.opt(s.number({ min: 0, max: 1 }), 0.995),
  emaEvery: s.opt(pos(), 10),
  /** ema-pytorch: EMA copies the weights until this step, then averages (library default 100, METHOD §1.5). */
  emaWarmup: s.opt(s.int({ min: 0 }), 100),
  /** ema-pytorch decay ramp 1 − (1 + k/invGamma)^−power, capped at emaDecay. */
  emaPower: s.opt(s.number({ positive: true }), 2 / 3),
  emaInvGamma: s.opt(s.number({ positive: true }), 1),
  checkpointEvery: s.opt(pos(), 500),
  /** Checkpoints kept on disk (newest). */
  keepCheckpoints: s.opt(pos(), 2),
  sampleEvery: s.opt(pos(), 500),
  /** Images in each monitoring grid (reference: 25). */
  sampleCount: s.opt(pos(), 25),
  seed: s.opt(s.int({ min: 0 }), 0),
});

/** data: where HQ images come from; LQ is produced on the fly by the degradation pipeline (METHOD §1.4). */
const dataSchema = s.object({
  folder: s.string(),
  imageSize: s.opt(pos(), 112),
  /** Batches prepared ahead of the training step. */
  prefetch: s.opt(s.int({ min: 0 }), 2),
  /** Horizontal flip probability (reference 0.5). */
  flip: s.opt(s.number({ min: 0, max: 1 }), 0.5),
});

export const diffusionConfigSchema = s.object({
  unet: unetSchema,
  diffusion: processSchema,
  train: trainSchema,
  data: dataSchema,
});

/** A validated diffusion config. */
export type DiffusionConfig = Infer<typeof diffusionConfigSchema>;

/** The UNet part as the UnetConfig the model takes. */
export function unetConfigOf(config: Readonly<DiffusionConfig>): UnetConfig {
  return { ...config.unet };
}

/** Cross-field rules a per-field schema cannot express; each names the dotted path. */
export function checkDiffusionConfig(c: Readonly<DiffusionConfig>, file: string): void {
  const f = 2 ** (c.unet.dimMults.length - 1);
  if (c.unet.imageSize % f !== 0) {
    throw new ConfigError(file, 'unet.imageSize', `expected a multiple of ${f} (2^(levels-1) for ${c.unet.dimMults.length} levels), got ${c.unet.imageSize}`);
  }
  if (c.data.imageSize !== c.unet.imageSize) {
    throw new ConfigError(file, 'data.imageSize', `expected ${c.unet.imageSize} (unet.imageSize), got ${c.data.imageSize}`);
  }
  for (const [i, m] of [1, ...c.unet.dimMults].entries()) {
    if ((c.unet.dim * m) % c.unet.resnetBlockGroups !== 0) {
      const path = i === 0 ? 'unet.dim' : `unet.dimMults[${i - 1}]`;
      throw new ConfigError(file, path, `width ${c.unet.dim * m} is not divisible by resnetBlockGroups ${c.unet.resnetBlockGroups}`);
    }
  }
  if (c.unet.dim % 2 !== 0 || c.unet.dim < 4) throw new ConfigError(file, 'unet.dim', `expected an even number >= 4 (sinusoidal embedding), got ${c.unet.dim}`);
  const [lo, hi] = c.diffusion.timeBound as [number, number];
  if (!(lo < hi && hi <= c.diffusion.timesteps)) {
    throw new ConfigError(file, 'diffusion.timeBound', `expected [lo, hi] with lo < hi <= timesteps (${c.diffusion.timesteps}), got [${lo}, ${hi}]`);
  }
}

/**
 * Loads, merges (`extends:`, overrides) and validates a diffusion config file.
 * @throws ConfigError naming the file and the dotted path of the first problem.
 */
export function loadDiffusionConfig(file: string, overrides: unknown = {}): DiffusionConfig {
  const config = loadConfigFile(diffusionConfigSchema, file, overrides);
  checkDiffusionConfig(config, file);
  return config;
}
