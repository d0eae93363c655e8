/**
 * The regressor training config (configs/regressor/*.yaml), validated once at the boundary (STYLE §2.3).
 * Defaults are the reference settings: DifFIQA(R) METHOD §3, eDifFIQA METHOD §4.2-4.4.
 */
import { z } from 'zod';
import { MFN_CONFIG } from '../fr/mobilefacenet.js';
import { ConfigError } from '../util/errors.js';
import { loadConfigFile } from '../util/schema.js';
import { backboneSpecFor, EDIFFIQA_HIDDEN, type BackboneSpec, type RegressorSpec } from './spec.js';

const pos = () => z.int().positive();
const unit = () => z.number().min(0).max(1);

const iresnetSchema = z.strictObject({
  layers: z.array(pos()).length(4),
  width: pos(),
  embeddingDim: pos(),
  inputSize: z.int().min(16),
});

const mobileFaceNetSchema = z.strictObject({
  c1: pos(), c2: pos(), g23: pos(), g3: pos(), g34: pos(), g4: pos(), g45: pos(), g5: pos(),
  n3: pos(), n4: pos(), n5: pos(), sep: pos(), emb: pos(),
});

/** Schema of a regressor training config; a section whose fields all have defaults may be left out. */
export const regressorConfigSchema = z.strictObject({
  model: z.strictObject({
    kind: z.enum(['diffiqa-r', 'ediffiqa']),
    /** r18 | r50 | r100 | mfn | mobileface, or iresnet / mobilefacenet with the matching section below. */
    backbone: z.enum(['r18', 'r50', 'r100', 'mfn', 'mobileface', 'iresnet', 'mobilefacenet']),
    iresnet: iresnetSchema.nullable().default(null),
    mobilefacenet: mobileFaceNetSchema.nullable().default(null),
    hidden: pos().default(EDIFFIQA_HIDDEN),
    /** Backbone init weights: a PyTorch state dict (.pth) such as insightface's r50.pth; null = random init. */
    init: z.string().nullable().default(null),
    /** Key prefix of the backbone inside `init` (e.g. `base_model.` to start from an eDifFIQA file). */
    initPrefix: z.string().default(''),
  }),
  data: z
    .strictObject({
      /** Label column in the labeller's output. */
      labelColumn: z.string().default('score'),
      /** Every `valEvery`-th item by sorted label is validation (10 = the reference's 10%). */
      valEvery: z.int().min(2).default(10),
      /**
       * A regular expression whose first group (or whole match) in an image's relative path names its identity;
       * null = the image's folder (the reference: one folder per identity). For a data folder that mixes layouts,
       * e.g. `lfw/images/<name>/x.jpg` and `cfp/<id>/{frontal,profile}/x.png`, `^(lfw/images/[^/]+|cfp/[^/]+)/`
       * lets one person's poses share an identity (eDifFIQA's centres).
       */
      identityPattern: z.string().nullable().default(null),
      /**
       * Probability of mirroring a training image (0 = the reference, which does not augment). A DifFIQA label is
       * mirror-symmetric by construction (it averages an image's terms with its mirror image's), so a mirrored face
       * keeps its label; eDifFIQA compares the mirrored face's embedding with the unmirrored teacher embedding.
       */
      flipProb: unit().default(0),
    })
    .prefault({}),
  train: z
    .strictObject({
      epochs: pos().default(1),
      batchSize: pos().default(128),
      headLr: z.number().positive().default(1e-3),
      backboneLr: z.number().min(0).default(1e-4),
      /** Only the last K parameter tensors of the backbone train (METHOD §3 `limit: 100`); the rest is frozen. */
      trainableTensors: z.int().min(0).default(100),
      clipGradNorm: z.number().positive().default(5),
      beta1: unit().default(0.9),
      beta2: unit().default(0.999),
      seed: z.int().default(42069),
      /** Optimiser steps between resumable checkpoints. */
      checkpointEvery: pos().default(100),
      /** Validate every N steps; 0 = at the end of every epoch (the reference). */
      validateEvery: z.int().min(0).default(0),
    })
    .prefault({}),
  ediffiqa: z
    .strictObject({
      beta: unit().default(0.2),
      minHq: pos().default(10),
      epsilon: z.number().min(0).default(0.5),
      theta: unit().default(0.5),
      /** Teacher FR model (src/fr/registry key); its embedding size must equal the student's. */
      teacher: z.string().default('mobileface'),
      /** PyTorch weights for r18/r50/r100/mfn teachers. */
      teacherWeights: z.string().nullable().default(null),
      teacherPrefix: z.string().default(''),
      /** Teacher embedding batch size. */
      teacherBatch: pos().default(32),
    })
    .prefault({}),
});

/** A validated regressor training config. */
export type RegressorConfig = z.output<typeof regressorConfigSchema>;

/** Loads and validates a config file (with `extends:`), plus optional overrides. */
export function loadRegressorConfig(file: string, overrides: unknown = {}): RegressorConfig {
  const cfg = loadConfigFile(regressorConfigSchema, file, overrides);
  resolveRegressorSpec(cfg, file); // structural checks with the file named
  if (cfg.data.identityPattern !== null) compileIdentityPattern(cfg.data.identityPattern, file);
  return cfg;
}

/** The model spec a config describes. @throws ConfigError when a custom backbone lacks its section */
export function resolveRegressorSpec(cfg: Readonly<RegressorConfig>, file = 'config'): RegressorSpec {
  const m = cfg.model;
  let backbone: BackboneSpec;
  if (m.backbone === 'iresnet') {
    if (!m.iresnet) throw new ConfigError(file, 'model.iresnet', 'required when model.backbone is "iresnet"');
    backbone = { type: 'iresnet', iresnet: { ...m.iresnet, layers: m.iresnet.layers as unknown as [number, number, number, number] } };
  } else if (m.backbone === 'mobilefacenet') {
    backbone = { type: 'mobilefacenet', mobilefacenet: m.mobilefacenet ?? { ...MFN_CONFIG } };
  } else {
    backbone = backboneSpecFor(m.backbone);
  }
  return { kind: m.kind, backbone, hidden: m.hidden };
}

/** Compiles `data.identityPattern`. @throws ConfigError naming `file` for an invalid regular expression */
export function compileIdentityPattern(source: string, file = 'config'): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ConfigError(file, 'data.identityPattern', `not a valid regular expression: ${(err as Error).message}`);
  }
}
