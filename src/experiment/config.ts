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
const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/**
 * A dataset location: a non-empty string. A missing, null or empty value (an empty path would silently mean the
 * working directory) is refused saying what to set; any other bad value gets the usual "expected …, got …".
 */
function datasetLocation(what: string, example: string) {
  const hint = (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.input !== undefined && issue.input !== null && issue.input !== '') return undefined;
    const at = dottedPath(issue.path ?? []);
    return `no dataset location: set ${at} to ${what} in the config, or pass --set ${at}=${example} (README "Datasets")`;
  };
  return z.string({ error: hint }).min(1, { error: hint });
}

/** Dataset folders (README "Datasets"): no defaults, and a missing section says what to add. */
const dataSchema = z.strictObject(
  {
    /** Aligned LFW (images/<Name>/<Name>_NNNN.jpg and pairs.txt). */
    lfw: datasetLocation('the aligned 112x112 LFW folder (images/ and pairs.txt)', '/path/to/lfw-112'),
    /** CFP (Data/Images and Protocol/). */
    cfp: datasetLocation('the CFP folder (Data/ and Protocol/)', '/path/to/cfp'),
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
    /** A configs/diffusion/*.yaml file. */
    config: z.string(),
    /** Training images: a folder or glob (the shipped configs: the CFP frontal faces). */
    data: datasetLocation(
      'the diffusion model\'s training images (a folder or glob, e.g. <cfp>/Data/Images/*/frontal/*.jpg)',
      "'/path/to/cfp/Data/Images/*/frontal/*.jpg'",
    ),
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
      /** CFP-FP folds of the evaluation. */
      cfpFolds: folds(range(1, 10)),
      /** Pairs kept per LFW fold (half mated, half not; a seeded choice); null = all 600. */
      lfwPairsPerFold: z.int().min(2).max(600).nullable().default(null),
      /** Pairs kept per CFP-FP fold; null = all 700. */
      cfpPairsPerFold: z.int().min(2).max(700).nullable().default(null),
    })
    .prefault({}),
  /** Distilled regressors: a display name and a configs/regressor/*.yaml file, with overrides. */
  regressors: z.array(z.strictObject({ name: z.string(), config: z.string(), set: z.array(z.string()).default([]) })),
  eval: z
    .strictObject({
      fr: z.array(z.string()).min(1).default(['mobileface', 'dlib']),
      fmr: z.number().positive().max(1).default(1e-3),
      limits: z.array(z.number().positive().max(1)).min(1).default([0.2, 0.3]),
      threshold: z.enum(['fixed', 'recompute']).default('fixed'),
      baselines: z.array(z.enum(BASELINE_NAMES)).default([...BASELINE_NAMES]),
    })
    .prefault({}),
});

/** A validated experiment config. */
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;

/** Name of the DifFIQA labeller's method in tables. */
export const LABELLER_METHOD = 'DifFIQA';

/**
 * Loads and validates an experiment config (with `extends:`), plus optional overrides.
 * @throws ConfigError naming the file and field
 */
export function loadExperimentConfig(file: string, overrides: unknown = {}): ExperimentConfig {
  const cfg = loadConfigFile(experimentConfigSchema, file, overrides);
  const names = [LABELLER_METHOD, ...cfg.regressors.map((r) => r.name)];
  for (const [i, r] of cfg.regressors.entries()) {
    if (!/^[A-Za-z0-9()._-]+$/.test(r.name)) throw new ConfigError(file, `regressors[${i}].name`, `use letters, digits and ()._- only, got "${r.name}"`);
    if (names.indexOf(r.name) !== i + 1) throw new ConfigError(file, `regressors[${i}].name`, `"${r.name}" is used twice (or is the labeller's name)`);
    if ((cfg.eval.baselines as readonly string[]).includes(r.name)) throw new ConfigError(file, `regressors[${i}].name`, `"${r.name}" is a baseline name`);
  }
  const overlap = cfg.protocol.trainFolds.filter((f) => cfg.protocol.testFolds.includes(f));
  if (overlap.length > 0) throw new ConfigError(file, 'protocol.testFolds', `folds ${overlap.join(', ')} are also training folds: identities would leak`);
  return cfg;
}
