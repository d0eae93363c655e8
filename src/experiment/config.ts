/**
 * The experiment config (configs/experiments/*.yaml), validated once at the boundary. Relative paths are read
 * from the working directory, as on the command line. See configs/experiments/lfw-cfp.yaml for every field
 * with its meaning.
 *
 * Dataset locations (`data.lfw`, `data.cfp`, `diffusion.data`) have NO default: nothing here points at the
 * development folder ../shared/data. A config that lacks one is refused at load with a message saying what to set
 * (README "Datasets" says where each dataset comes from and the layout it needs).
 */
import { z } from 'zod';
import { BASELINE_NAMES } from '../eval/baselines.js';
import { ConfigError } from '../util/errors.js';
import { dottedPath, loadConfigFile } from '../util/schema.js';

const pos = () => z.int().positive();
const folds = (def: number[]) => z.array(z.int().min(1).max(10)).min(1).default(def);
const THRESHOLD_MODE = z.enum(['fixed', 'recompute']);
const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/**
 * A dataset location: a non-empty string. A missing, null or empty value (an empty path would silently mean the
 * working directory) is refused saying what to set; any other bad value gets the usual "expected …, got …".
 */
function datasetLocation(what: string, example: string) {
  const hint = (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.input !== undefined && issue.input !== null && issue.input !== '') return undefined;
    return missingLocation(dottedPath(issue.path ?? []), what, example);
  };
  return z.string({ error: hint }).min(1, { error: hint });
}

/** What to tell a user who has not set the dataset location `at`. */
function missingLocation(at: string, what: string, example: string): string {
  return `no dataset location: set ${at} to ${what} in the config, or pass --set ${at}=${example} (README "Datasets")`;
}

/** The diffusion model's training images. */
const DIFFUSION_DATA_HINT = [
  'the diffusion model\'s training images (a folder or glob, e.g. <cfp>/Data/Images/*/frontal/*.jpg)',
  "'/path/to/cfp/Data/Images/*/frontal/*.jpg'",
] as const;
const DIFFUSION_DATA = datasetLocation(...DIFFUSION_DATA_HINT);

/** The evaluation sets an experiment can report (protocol.ts). */
export const SET_NAMES = ['lfw', 'xq-lfw', 'cfp-fp', 'cfp-ff'] as const;
export type SetName = (typeof SET_NAMES)[number];

/** Dataset folders (README "Datasets"): no defaults, and a missing section says what to add. */
const dataSchema = z.strictObject(
  {
    /** Aligned LFW (images/<Name>/<Name>_NNNN.jpg and pairs.txt). */
    lfw: datasetLocation('the aligned 112x112 LFW folder (images/ and pairs.txt)', '/path/to/lfw-112'),
    /** CFP (Data/Images and Protocol/). */
    cfp: datasetLocation('the CFP folder (Data/ and Protocol/)', '/path/to/cfp'),
    /**
     * CFP photos aligned to the ArcFace template, `<id>/<frontal|profile>/<nn>.png` (scripts/shipped/prepare-faces.ts
     * and align-cfp-fiducials.ts write them); null = the raw photos, resized (FR models fail on them).
     */
    cfpAligned: z.string().min(1).nullable().default(null),
  },
  {
    error: (issue) => {
      if (issue.input !== undefined) return undefined;
      const p = dottedPath(issue.path ?? []);
      return (
        `no dataset locations: add a ${p} section with ${p}.lfw (aligned 112x112 LFW: images/ and pairs.txt) and ${p}.cfp ` +
        `(CFP: Data/ and Protocol/), or pass --set ${p}.lfw=/path/to/lfw-112 --set ${p}.cfp=/path/to/cfp (README "Datasets")`
      );
    },
  },
);

/** Schema of an experiment config; a section whose fields all have defaults may be left out. */
export const experimentConfigSchema = z.strictObject({
  /** Output folder: every stage's results, caches and the report. */
  out: z.string(),
  /** Seed of the pair subsets, the cross-quality degradations, the labeller and the random baseline. */
  seed: z.int().default(0),
  data: dataSchema,
  diffusion: z.strictObject({
    /**
     * Label with this trained model instead of training one: `shipped` (the model that ships, models/diffusion.md)
     * or a checkpoint path. Then `config` and `data` are not needed.
     */
    model: z.string().min(1).nullable().default(null),
    /** A configs/diffusion/*.yaml file (to train; required without `model`). */
    config: z.string().optional(),
    /** Training images: a folder or glob (the shipped configs: the CFP frontal faces); required without `model`. */
    data: DIFFUSION_DATA.optional(),
    /** Overrides of the diffusion config, `key.path=value`. */
    set: z.array(z.string()).default([]),
    /** Label with the EMA weights instead of the raw ones (the reference labels with raw weights). */
    ema: z.boolean().default(false),
  }),
  label: z
    .strictObject({
      tStar: z.int().min(1).max(99).default(5),
      repeats: pos().default(10),
      fr: z.string().default('mobileface'),
      /** PyTorch weights of a `fr` that needs them (r18/r50/r100/mfn/mbf), e.g. the reference's CosFace R100 `.pth`. */
      frWeights: z.string().nullable().default(null),
      /** Key prefix stripped from those weights' names (`base_model.` for an eDifFIQA checkpoint). */
      frWeightsPrefix: z.string().default(''),
      batchSize: pos().default(2),
    })
    .prefault({}),
  protocol: z
    .strictObject({
      /** LFW folds whose images train the regressors. */
      trainFolds: folds(range(1, 5)),
      /** LFW folds of the evaluation (and of the cross-quality copy). */
      testFolds: folds(range(6, 10)),
      /** CFP folds of the evaluation (CFP-FP and CFP-FF). */
      cfpFolds: folds(range(1, 10)),
      /** The evaluation sets, in table order. */
      sets: z.array(z.enum(SET_NAMES)).min(1).default(['lfw', 'xq-lfw', 'cfp-fp']),
      /** Pairs kept per LFW fold (half mated, half not; a seeded choice); null = all 600. */
      lfwPairsPerFold: z.int().min(2).max(600).nullable().default(null),
      /** Pairs kept per CFP fold (FP and FF alike); null = all 700. */
      cfpPairsPerFold: z.int().min(2).max(700).nullable().default(null),
    })
    .prefault({}),
  /**
   * Regressors: a display name and either a configs/regressor/*.yaml file (with overrides) to distil on the LFW
   * training folds, or a trained `model` to score with (`shipped:ediffiqa`, `shipped:diffiqa-r` or a checkpoint).
   */
  regressors: z.array(
    z.strictObject({
      name: z.string(),
      config: z.string().optional(),
      set: z.array(z.string()).default([]),
      model: z.string().min(1).optional(),
    }),
  ),
  eval: z
    .strictObject({
      fr: z.array(z.string()).min(1).default(['mobileface', 'dlib']),
      fmr: z.number().positive().max(1).default(1e-3),
      limits: z.array(z.number().positive().max(1)).min(1).default([0.2, 0.3]),
      /** One threshold mode or both (src/eval/edc.ts). */
      threshold: z
        .union([THRESHOLD_MODE, z.array(THRESHOLD_MODE).min(1)])
        .default('fixed')
        .transform((t) => [...new Set(Array.isArray(t) ? t : [t])]),
      baselines: z.array(z.enum(BASELINE_NAMES)).default([...BASELINE_NAMES]),
      /** SER-FIQ on mobileface as one more method (src/fr/ser-fiq.ts); null = left out. */
      serFiq: z
        .strictObject({ passes: z.int().min(2).default(100), dropout: z.number().min(0).lt(1).default(0.5) })
        .nullable()
        .default(null),
      /** 95% identity-bootstrap intervals of every normalised pAUC (src/eval/bootstrap.ts); null = none. */
      bootstrap: z.strictObject({ samples: pos().default(1000), seed: z.int().default(0) }).nullable().default(null),
    })
    .prefault({}),
  /**
   * A folder to publish the recomputable results to (summary.json, pauc.md, EDC plots, comparisons/, qualities/,
   * README.md with the command that regenerates the tables); null = only the report folder.
   */
  publish: z.string().min(1).nullable().default(null),
});

/** A validated experiment config. */
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;

/** Name of the DifFIQA labeller's method in tables. */
export const LABELLER_METHOD = 'DifFIQA';

/** Name of SER-FIQ in tables. */
export const SER_FIQ_METHOD = 'SER-FIQ';

/**
 * Loads and validates an experiment config (with `extends:`), plus optional overrides.
 * @throws ConfigError naming the file and field
 */
export function loadExperimentConfig(file: string, overrides: unknown = {}): ExperimentConfig {
  const cfg = loadConfigFile(experimentConfigSchema, file, overrides);
  if (cfg.diffusion.model === null) {
    if (cfg.diffusion.config === undefined) throw new ConfigError(file, 'diffusion.config', 'give a configs/diffusion/*.yaml to train, or diffusion.model to label with a trained one');
    if (cfg.diffusion.data === undefined) throw new ConfigError(file, 'diffusion.data', missingLocation('diffusion.data', ...DIFFUSION_DATA_HINT));
  }
  const names = [LABELLER_METHOD, ...cfg.regressors.map((r) => r.name)];
  for (const [i, r] of cfg.regressors.entries()) {
    if ((r.config === undefined) === (r.model === undefined)) throw new ConfigError(file, `regressors[${i}]`, 'give either config (to distil) or model (a trained regressor)');
    if (r.name === SER_FIQ_METHOD) throw new ConfigError(file, `regressors[${i}].name`, `"${r.name}" is the SER-FIQ method's name`);
    if (!/^[A-Za-z0-9()._-]+$/.test(r.name)) throw new ConfigError(file, `regressors[${i}].name`, `use letters, digits and ()._- only, got "${r.name}"`);
    if (names.indexOf(r.name) !== i + 1) throw new ConfigError(file, `regressors[${i}].name`, `"${r.name}" is used twice (or is the labeller's name)`);
    if ((cfg.eval.baselines as readonly string[]).includes(r.name)) throw new ConfigError(file, `regressors[${i}].name`, `"${r.name}" is a baseline name`);
  }
  const overlap = cfg.protocol.trainFolds.filter((f) => cfg.protocol.testFolds.includes(f));
  if (overlap.length > 0) throw new ConfigError(file, 'protocol.testFolds', `folds ${overlap.join(', ')} are also training folds: identities would leak`);
  return cfg;
}
