/**
 * The diffusion training config (configs/diffusion/*.yaml): schema, defaults (the paper's values, METHOD §1)
 * and cross-field checks. Validated once at the boundary; inner code takes `Readonly<DiffusionConfig>`.
 */
import { z } from 'zod';
import { ConfigError } from '../util/errors.js';
import { loadConfigFile } from '../util/schema.js';
import type { UnetConfig } from './unet-spec.js';

const pos = () => z.int().positive();
const unit = () => z.number().min(0).max(1);

/** unet: the reference `unet_params` plus the attention widths it hard-codes (METHOD §1.1). */
const unetSchema = z.strictObject({
  dim: pos().default(128),
  dimMults: z.array(pos()).min(1).default([1, 2, 4, 8]),
  channels: pos().default(3),
  resnetBlockGroups: pos().default(8),
  imageSize: pos().default(112),
  linearAttnHeads: pos().default(4),
  linearAttnDimHead: pos().default(32),
  fullAttnHeads: pos().default(4),
  fullAttnDimHead: pos().default(32),
  fixAttentionNorm: z.boolean().default(false),
});

/** diffusion: the reference `diff_params` (METHOD §1.2-§1.3, §1.6). */
const processSchema = z.strictObject({
  timesteps: pos().default(1000),
  schedule: z.enum(['cosine', 'linear']).default('cosine'),
  /** Training t ~ U{timeBound[0] … timeBound[1]−1}. */
  timeBound: z.array(z.int().min(0)).length(2).default([0, 100]),
  /** Degradation-mixing horizon: a(t) = sin((t/T)·π/2). */
  T: pos().default(100),
  /** DDIM η for reconstructions (reference default 1). */
  ddimEta: unit().default(1),
});

/** train: the reference `trainer_params` (METHOD §1.5) and run bookkeeping. */
const trainSchema = z.strictObject({
  batchSize: pos().default(16),
  gradAccumulate: pos().default(4),
  steps: pos().default(100_000),
  lr: z.number().positive().default(8e-5),
  beta1: z.number().min(0).max(0.999999).default(0.9),
  beta2: z.number().min(0).max(0.999999).default(0.99),
  emaDecay: unit().default(0.995),
  emaEvery: pos().default(10),
  /** ema-pytorch: EMA copies the weights until this step, then averages (library default 100, METHOD §1.5). */
  emaWarmup: z.int().min(0).default(100),
  /** ema-pytorch decay ramp 1 − (1 + k/invGamma)^−power, capped at emaDecay. */
  emaPower: z.number().positive().default(2 / 3),
  emaInvGamma: z.number().positive().default(1),
  checkpointEvery: pos().default(500),
  /** Checkpoints kept on disk (newest). */
  keepCheckpoints: pos().default(2),
  sampleEvery: pos().default(500),
  /** Images in each monitoring grid (reference: 25). */
  sampleCount: pos().default(25),
  seed: z.int().min(0).default(0),
});

/** data: where HQ images come from; LQ is produced on the fly by the degradation pipeline (METHOD §1.4). */
const dataSchema = z.strictObject({
  folder: z.string(),
  imageSize: pos().default(112),
  /** Batches prepared ahead of the training step. */
  prefetch: z.int().min(0).default(2),
  /** Horizontal flip probability (reference 0.5). */
  flip: unit().default(0.5),
});

/** Schema of a diffusion training config; a section whose fields all have defaults may be left out. */
export const diffusionConfigSchema = z.strictObject({
  unet: unetSchema.prefault({}),
  diffusion: processSchema.prefault({}),
  train: trainSchema.prefault({}),
  data: dataSchema,
});

/** A validated diffusion config. */
export type DiffusionConfig = z.output<typeof diffusionConfigSchema>;

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
