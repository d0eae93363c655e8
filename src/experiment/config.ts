/**
 * The experiment config (configs/experiments/*.yaml), validated once at the boundary. Relative paths are read
 * from the working directory, as on the command line. See configs/experiments/lfw-cfp.yaml for every field
 * with its meaning.
 *
 * Dataset locations (`data.lfw`, `data.cfp`, `diffusion.data`) have NO default: nothing here points at the
 * development folder ../shared/data. A config that lacks one is refused at load with a message saying what to set
 * (README "Datasets" says where each dataset comes from and the layout it needs).
 */
import { BASELINE_NAMES } from '../eval/baselines.js';
import { ConfigError } from '../util/errors.js';
import { loadConfigFile, s, type Infer } from '../util/schema.js';

const folds = (def: number[]) => s.opt(s.array(s.int({ min: 1, max: 10 }), { minLength: 1 }), def);
const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/** What to tell a user who has not set a dataset location at `path`. */
const setDatasetHint = (what: string, example: string) => (path: string) =>
  `no dataset location: set ${path} to ${what} in the config, or pass --set ${path}=${example} (README "Datasets")`;

/**
 * A dataset location: required, and a non-empty string. A missing, null or empty value is refused with
 * `setDatasetHint` (an empty path would silently mean the working directory).
 */
function datasetLocation(what: string, example: string) {
  const hint = setDatasetHint(what, example);
  const str = s.string();
  return s.required<string>(
    {
      expected: str.expected,
      parse: (v, p, f) => {
        if (v === undefined || v === null || v === '') throw new ConfigError(f, p, hint(p));
        return str.parse(v, p, f);
      },
    },
    hint,
  );
}

/** Schema of an experiment config. */
export const experimentConfigSchema = s.object({
  /** Output folder: every stage's results, caches and the report. */
  out: s.string(),
  /** Seed of the pair subsets, the cross-quality degradations, the labeller and the random baseline. */
  seed: s.opt(s.int(), 0),
  /** Dataset folders (README "Datasets"); no defaults. */
  data: s.required(
    s.object({
      /** Aligned LFW (images/<Name>/<Name>_NNNN.jpg and pairs.txt). */
      lfw: datasetLocation('the aligned 112x112 LFW folder (images/ and pairs.txt)', '/path/to/lfw-112'),
      /** CFP (Data/Images and Protocol/). */
      cfp: datasetLocation('the CFP folder (Data/ and Protocol/)', '/path/to/cfp'),
    }),
    (p) =>
      `no dataset locations: add a ${p} section with ${p}.lfw (aligned 112x112 LFW: images/ and pairs.txt) and ${p}.cfp ` +
      `(CFP: Data/ and Protocol/), or pass --set ${p}.lfw=/path/to/lfw-112 --set ${p}.cfp=/path/to/cfp (README "Datasets")`,
  ),
  diffusion: s.object({
    /** A configs/diffusion/*.yaml file. */
    config: s.string(),
    /** Training images: a folder or glob (the shipped configs: the CFP frontal faces). */
    data: datasetLocation(
      'the diffusion model\'s training images (a folder or glob, e.g. <cfp>/Data/Images/*/frontal/*.jpg)',
      "'/path/to/cfp/Data/Images/*/frontal/*.jpg'",
    ),
    /** Overrides of the diffusion config, `key.path=value`. */
    set: s.opt(s.array(s.string()), []),
    /** Label with the EMA weights instead of the raw ones (the reference labels with raw weights). */
    ema: s.opt(s.boolean(), false),
  }),
  label: s.opt(
    s.object({
      tStar: s.opt(s.int({ min: 1, max: 99 }), 5),
      repeats: s.opt(s.int({ positive: true }), 10),
      fr: s.opt(s.string(), 'mobileface'),
      /** PyTorch weights of a `fr` that needs them (r18/r50/r100/mfn/mbf), e.g. the reference's CosFace R100 `.pth`. */
      frWeights: s.opt(s.nullable(s.string()), null),
      /** Key prefix stripped from those weights' names (`base_model.` for an eDifFIQA checkpoint). */
      frWeightsPrefix: s.opt(s.string(), ''),
      batchSize: s.opt(s.int({ positive: true }), 2),
    }),
    { tStar: 5, repeats: 10, fr: 'mobileface', frWeights: null, frWeightsPrefix: '', batchSize: 2 },
  ),
  protocol: s.opt(
    s.object({
      /** LFW folds whose images train the regressors. */
      trainFolds: folds(range(1, 5)),
      /** LFW folds of the evaluation (and of the cross-quality copy). */
      testFolds: folds(range(6, 10)),
      /** CFP-FP folds of the evaluation. */
      cfpFolds: folds(range(1, 10)),
      /** Pairs kept per LFW fold (half mated, half not; a seeded choice); null = all 600. */
      lfwPairsPerFold: s.opt(s.nullable(s.int({ min: 2, max: 600 })), null),
      /** Pairs kept per CFP-FP fold; null = all 700. */
      cfpPairsPerFold: s.opt(s.nullable(s.int({ min: 2, max: 700 })), null),
    }),
    { trainFolds: range(1, 5), testFolds: range(6, 10), cfpFolds: range(1, 10), lfwPairsPerFold: null, cfpPairsPerFold: null },
  ),
  /** Distilled regressors: a display name and a configs/regressor/*.yaml file, with overrides. */
  regressors: s.array(s.object({ name: s.string(), config: s.string(), set: s.opt(s.array(s.string()), []) })),
  eval: s.opt(
    s.object({
      fr: s.opt(s.array(s.string(), { minLength: 1 }), ['mobileface', 'dlib']),
      fmr: s.opt(s.number({ positive: true, max: 1 }), 1e-3),
      limits: s.opt(s.array(s.number({ positive: true, max: 1 }), { minLength: 1 }), [0.2, 0.3]),
      threshold: s.opt(s.enum(['fixed', 'recompute'] as const), 'fixed' as 'fixed' | 'recompute'),
      baselines: s.opt(s.array(s.enum(BASELINE_NAMES)), [...BASELINE_NAMES]),
    }),
    { fr: ['mobileface', 'dlib'], fmr: 1e-3, limits: [0.2, 0.3], threshold: 'fixed' as const, baselines: [...BASELINE_NAMES] },
  ),
});

/** A validated experiment config. */
export type ExperimentConfig = Infer<typeof experimentConfigSchema>;

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
