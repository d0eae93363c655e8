/**
 * The regressor training config (configs/regressor/*.yaml), validated once at the boundary (STYLE §2.3).
 * Defaults are the reference settings: DifFIQA(R) METHOD §3, eDifFIQA METHOD §4.2-4.4.
 */
import { MFN_CONFIG } from '../fr/mobilefacenet.js';
import { ConfigError } from '../util/errors.js';
import { loadConfigFile, s, type Infer } from '../util/schema.js';
import { backboneSpecFor, EDIFFIQA_HIDDEN, type BackboneSpec, type RegressorSpec } from './spec.js';

const iresnetSchema = s.object({
  layers: s.array(s.int({ positive: true }), { length: 4 }),
  width: s.int({ positive: true }),
  embeddingDim: s.int({ positive: true }),
  inputSize: s.int({ min: 16 }),
});

const pos = () => s.int({ positive: true });
const mobileFaceNetSchema = s.object({
  c1: pos(), c2: pos(), g23: pos(), g3: pos(), g34: pos(), g4: pos(), g45: pos(), g5: pos(),
  n3: pos(), n4: pos(), n5: pos(), sep: pos(), emb: pos(),
});

/** Schema of a regressor training config. */
export const regressorConfigSchema = s.object({
  model: s.object({
    kind: s.enum(['diffiqa-r', 'ediffiqa'] as const),
    /** r18 | r50 | r100 | mfn | mobileface, or iresnet / mobilefacenet with the matching section below. */
    backbone: s.enum(['r18', 'r50', 'r100', 'mfn', 'mobileface', 'iresnet', 'mobilefacenet'] as const),
    iresnet: s.opt(s.nullable(iresnetSchema), null),
    mobilefacenet: s.opt(s.nullable(mobileFaceNetSchema), null),
    hidden: s.opt(s.int({ positive: true }), EDIFFIQA_HIDDEN),
    /** Backbone init weights: a PyTorch state dict (.pth) such as insightface's r50.pth; null = random init. */
    init: s.opt(s.nullable(s.string()), null),
    /** Key prefix of the backbone inside `init` (e.g. `base_model.` to start from an eDifFIQA file). */
    initPrefix: s.opt(s.string(), ''),
  }),
  data: s.opt(
    s.object({
      /** Label column in the labeller's output. */
      labelColumn: s.opt(s.string(), 'score'),
      /** Every `valEvery`-th item by sorted label is validation (10 = the reference's 10%). */
      valEvery: s.opt(s.int({ min: 2 }), 10),
      /**
       * A regular expression whose first group (or whole match) in an image's relative path names its identity;
       * null = the image's folder (the reference: one folder per identity). For a data folder that mixes layouts,
       * e.g. `lfw/images/<name>/x.jpg` and `cfp/<id>/{frontal,profile}/x.png`, `^(lfw/images/[^/]+|cfp/[^/]+)/`
       * lets one person's poses share an identity (eDifFIQA's centres).
       */
      identityPattern: s.opt(s.nullable(s.string()), null),
      /**
       * Probability of mirroring a training image (0 = the reference, which does not augment). A DifFIQA label is
       * mirror-symmetric by construction (it averages an image's terms with its mirror image's), so a mirrored face
       * keeps its label; eDifFIQA compares the mirrored face's embedding with the unmirrored teacher embedding.
       */
      flipProb: s.opt(s.number({ min: 0, max: 1 }), 0),
    }),
    { labelColumn: 'score', valEvery: 10, identityPattern: null, flipProb: 0 },
  ),
  train: s.object({
    epochs: s.opt(s.int({ positive: true }), 1),
    batchSize: s.opt(s.int({ positive: true }), 128),
    headLr: s.opt(s.number({ positive: true }), 1e-3),
    backboneLr: s.opt(s.number({ min: 0 }), 1e-4),
    /** Only the last K parameter tensors of the backbone train (METHOD §3 `limit: 100`); the rest is frozen. */
    trainableTensors: s.opt(s.int({ min: 0 }), 100),
    clipGradNorm: s.opt(s.number({ positive: true }), 5),
    beta1: s.opt(s.number({ min: 0, max: 1 }), 0.9),
    beta2: s.opt(s.number({ min: 0, max: 1 }), 0.999),
    seed: s.opt(s.int(), 42069),
    /** Optimiser steps between resumable checkpoints. */
    checkpointEvery: s.opt(s.int({ positive: true }), 100),
    /** Validate every N steps; 0 = at the end of every epoch (the reference). */
    validateEvery: s.opt(s.int({ min: 0 }), 0),
  }),
  ediffiqa: s.opt(
    s.object({
      beta: s.opt(s.number({ min: 0, max: 1 }), 0.2),
      minHq: s.opt(s.int({ positive: true }), 10),
      epsilon: s.opt(s.number({ min: 0 }), 0.5),
      theta: s.opt(s.number({ min: 0, max: 1 }), 0.5),
      /** Teacher FR model (src/fr/registry key); its embedding size must equal the student's. */
      teacher: s.opt(s.string(), 'mobileface'),
      /** PyTorch weights for r18/r50/r100/mfn teachers. */
      teacherWeights: s.opt(s.nullable(s.string()), null),
      teacherPrefix: s.opt(s.string(), ''),
      /** Teacher embedding batch size. */
      teacherBatch: s.opt(s.int({ positive: true }), 32),
    }),
    { beta: 0.2, minHq: 10, epsilon: 0.5, theta: 0.5, teacher: 'mobileface', teacherWeights: null, teacherPrefix: '', teacherBatch: 32 },
  ),
});

/** A validated regressor training config. */
export type RegressorConfig = Infer<typeof regressorConfigSchema>;

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
