/**
 * `diffiqa eval`: EDC curves and pAUC of quality files (and baselines) for FR models on a verification protocol
 * (METHOD.md §5). Two inputs:
 * - `--comparisons FILE`: a CSV `a,b,mated,score` with the FR scores already computed (one FR label via --fr);
 * - `--protocol lfw|cfp-ff|cfp-fp|csv --data DIR`: pairs from the protocol, embeddings per --fr model from the
 *   embedding cache, computing the missing ones with the injected `embedImages` (the only FR-dependent step).
 * Outputs go to --out (see src/eval/report.ts).
 */
import { startBackend, type GlobalArgs } from './common.js';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BASELINE_NAMES, type BaselineName } from '../eval/baselines.js';
import { makeDiscardLevels, type ThresholdMode } from '../eval/edc.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import { filterFolds, listPairImages, loadCfpPairs, loadComparisonCsv, loadLfwPairs, type Pair, type ScoredPair } from '../eval/inputs.js';
import { computeBaselines, getEmbeddings, type EmbedImagesFn } from '../eval/prepare.js';
import { loadQualityFile } from '../eval/qualities.js';
import { writeEvalOutputs, type EvalOutputFiles } from '../eval/report.js';
import { ConfigError } from '../util/errors.js';

/** What `eval` needs from outside src/eval. */
export interface EvalCommandDeps {
  /** FR embedding computation; without it only cached embeddings (or --comparisons) can be used. */
  embedImages?: EmbedImagesFn;
  /** Progress/result lines; default stderr. */
  log?: (line: string) => void;
}

/** Parsed `eval` options. */
export interface EvalArgs {
  comparisons?: string;
  protocol?: 'lfw' | 'cfp-ff' | 'cfp-fp' | 'csv';
  pairs?: string;
  data?: string;
  dataset?: string;
  fr: string[];
  quality: string[];
  fmr: number;
  discardLimits: string;
  discardMax: number;
  discardStep: number;
  threshold: ThresholdMode;
  out: string;
  cacheDir?: string;
  folds?: string;
  baselines: string;
  seed: string;
}

const CLI = '<command line>';

/** Parses "a,b,c" floats. */
function parseNumberList(text: string, option: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new ConfigError(CLI, `--${option}`, `expected comma-separated numbers, got "${text}"`);
  }
  return values;
}

/** Parses "6-10" or "1,3,5" (1-based folds). */
export function parseFolds(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new ConfigError(CLI, '--folds', `expected e.g. "6-10" or "1,2,3", got "${text}"`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    for (let f = lo; f <= hi; f++) out.push(f);
  }
  return out;
}

/** Loads every `NAME=FILE` quality option. */
function loadQualitySpecs(specs: readonly string[], root: string | undefined) {
  const qualities = new Map<string, Map<string, number>>();
  const sources = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq).trim();
    const file = spec.slice(eq + 1).trim();
    if (eq <= 0 || file === '') throw new ConfigError(CLI, '--quality', `expected NAME=FILE, got "${spec}"`);
    if (qualities.has(name)) throw new ConfigError(CLI, '--quality', `method name "${name}" given twice`);
    qualities.set(name, loadQualityFile(file, root));
    sources.set(name, file);
  }
  return { qualities, sources };
}

/** Reads the protocol's pairs (dataset-relative paths). */
function loadProtocolPairs(args: EvalArgs): Pair[] {
  const data = args.data;
  if (!data) throw new ConfigError(CLI, '--data', `--protocol ${args.protocol} needs the dataset folder`);
  switch (args.protocol) {
    case 'lfw':
      return loadLfwPairs(path.join(data, 'pairs.txt'));
    case 'cfp-ff':
      return loadCfpPairs(data, 'FF');
    case 'cfp-fp':
      return loadCfpPairs(data, 'FP');
    case 'csv':
      if (!args.pairs) throw new ConfigError(CLI, '--pairs', '--protocol csv needs --pairs FILE (a,b,mated[,fold])');
      return loadComparisonCsv(args.pairs, { requireScore: false });
    default:
      throw new ConfigError(CLI, '--protocol', `expected lfw, cfp-ff, cfp-fp or csv, got "${String(args.protocol)}"`);
  }
}

/** Which baselines to add: `auto` = every baseline whose inputs exist; `none`; or a list. */
function resolveBaselines(spec: string, haveImages: boolean, haveEmbeddings: boolean): string[] {
  const available = (b: string): boolean => b === 'random' || (b === 'sharpness' && haveImages) || (b === 'embedding-norm' && haveEmbeddings);
  if (spec === 'none') return [];
  if (spec === 'auto') return BASELINE_NAMES.filter(available);
  const list = spec.split(',').map((s) => s.trim());
  for (const b of list) {
    if (!(BASELINE_NAMES as readonly string[]).includes(b)) {
      throw new ConfigError(CLI, '--baselines', `unknown baseline "${b}"; expected auto, none or some of ${BASELINE_NAMES.join(', ')}`);
    }
    if (!available(b)) throw new ConfigError(CLI, '--baselines', `baseline "${b}" needs ${b === 'sharpness' ? '--data (images)' : 'embeddings (--protocol)'}`);
  }
  return list;
}

/** Runs the whole evaluation; returns the results and the files written. */
export async function runEval(args: EvalArgs, deps: EvalCommandDeps = {}): Promise<{ results: EvalResult[]; files: EvalOutputFiles }> {
  const log = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if ((args.comparisons === undefined) === (args.protocol === undefined)) {
    throw new ConfigError(CLI, '--comparisons', 'give exactly one of --comparisons FILE or --protocol NAME');
  }
  const limits = parseNumberList(args.discardLimits, 'discard-limits');
  const common = {
    fmr: args.fmr,
    limits,
    discardLevels: makeDiscardLevels(args.discardMax, args.discardStep),
    thresholdMode: args.threshold,
  };
  const { qualities, sources } = loadQualitySpecs(args.quality, args.data);
  const folds = args.folds ? parseFolds(args.folds) : undefined;
  const results: EvalResult[] = [];
  if (args.comparisons !== undefined) {
    if (args.fr.length > 1) throw new ConfigError(CLI, '--fr', 'with --comparisons the scores belong to one FR model: give one --fr label');
    const comparisons: ScoredPair[] = filterFolds(loadComparisonCsv(args.comparisons), folds);
    const dataset = args.dataset ?? path.basename(args.comparisons).replace(/\.[^.]*$/, '');
    const images = listPairImages(comparisons);
    const all = await addBaselines(qualities, resolveBaselines(args.baselines, args.data !== undefined, false), images, args, undefined);
    results.push(...evaluate({ fr: args.fr[0] ?? 'given', dataset, comparisons, qualities: all, qualitySources: sources, ...common }));
  } else {
    const pairs = filterFolds(loadProtocolPairs(args), folds);
    const dataset = args.dataset ?? (args.protocol as string);
    const images = listPairImages(pairs);
    if (args.fr.length === 0) throw new ConfigError(CLI, '--fr', '--protocol needs at least one FR model');
    const baselines = resolveBaselines(args.baselines, true, true);
    for (const fr of args.fr) {
      log(`eval: ${fr} on ${dataset}: ${pairs.length} pairs, ${images.length} images`);
      const data = args.data as string;
      const embeddings = await getEmbeddings(fr, dataset, images, (p) => path.resolve(data, p), args.cacheDir ?? path.join(args.out, 'embeddings'), deps.embedImages);
      const all = await addBaselines(qualities, baselines, images, args, embeddings);
      results.push(...evaluate({ fr, dataset, pairs, embeddings, qualities: all, qualitySources: sources, ...common }));
    }
  }
  const files = await writeEvalOutputs(args.out, results);
  for (const r of results) {
    log(`eval: ${r.method} | ${r.fr} | ${r.dataset}: FNMR(0) ${r.fnmr0.toFixed(4)}, ${r.paucs.map((p) => `pAUC@${p.limit} ${p.paucNorm.toFixed(4)}`).join(', ')}`);
  }
  log(`eval: wrote ${files.summary}, ${files.edcCsv}, ${files.paucMd} and ${files.plots.length} plot(s)`);
  return { results, files };
}

/** The quality maps plus the requested baselines (which never replace a user method of the same name). */
async function addBaselines(
  qualities: ReadonlyMap<string, Map<string, number>>,
  baselines: readonly string[],
  images: readonly string[],
  args: EvalArgs,
  embeddings: ReadonlyMap<string, Float32Array> | undefined,
): Promise<Map<string, Map<string, number>>> {
  for (const b of baselines) {
    if (qualities.has(b)) throw new ConfigError(CLI, '--quality', `"${b}" is a baseline name; rename the method or pass --baselines none`);
  }
  const resolve = (p: string): string => path.resolve(args.data as string, p);
  const computed = await computeBaselines(baselines as BaselineName[], { images, resolve, embeddings, seed: args.seed });
  return new Map([...qualities, ...computed]);
}

/** Declares the options. */
function buildEvalOptions(y: Argv): Argv<EvalArgs> {
  return y
    .option('comparisons', { type: 'string', describe: 'CSV a,b,mated,score with precomputed FR scores' })
    .option('protocol', { choices: ['lfw', 'cfp-ff', 'cfp-fp', 'csv'] as const, describe: 'Pair protocol read from --data' })
    .option('pairs', { type: 'string', describe: 'With --protocol csv: CSV a,b,mated[,fold] of dataset-relative paths' })
    .option('data', { type: 'string', describe: 'Dataset folder (image paths and quality paths are relative to it)' })
    .option('dataset', { type: 'string', describe: 'Dataset label in reports (default: protocol or file name)' })
    .option('fr', { type: 'string', array: true, default: [] as string[], describe: 'FR model(s); with --comparisons a label' })
    .option('quality', { type: 'string', array: true, default: [] as string[], describe: 'NAME=FILE quality file(s) (CSV/JSONL path,quality|score)' })
    .option('fmr', { type: 'number', default: 1e-3, describe: 'Target FMR of the threshold' })
    .option('discard-limits', { type: 'string', default: '0.2,0.3', describe: 'pAUC discard limits' })
    .option('discard-max', { type: 'number', default: 0.95, describe: 'Last discard level' })
    .option('discard-step', { type: 'number', default: 0.05, describe: 'Discard level step' })
    .option('threshold', { choices: ['fixed', 'recompute'] as const, default: 'fixed' as const, describe: 'fixed at zero discard (ISO/fiqat) or recomputed per level (CR-FIQA)' })
    .option('out', { type: 'string', demandOption: true, describe: 'Output folder' })
    .option('cache-dir', { type: 'string', describe: 'Embedding cache folder (default <out>/embeddings)' })
    .option('folds', { type: 'string', describe: 'Folds to keep, e.g. 6-10' })
    .option('baselines', { type: 'string', default: 'auto', describe: 'auto, none, or a list of random,sharpness,embedding-norm' })
    .option('seed', { type: 'string', default: '0', describe: 'Seed of the random baseline' }) as unknown as Argv<EvalArgs>;
}

/** Builds the `eval` command with its FR dependency injected (the lead passes `embedImages` from src/fr). */
export function makeEvalCommand(deps: EvalCommandDeps = {}): CommandModule<object, EvalArgs> {
  return {
    command: 'eval',
    describe: 'EDC curves and pAUC of quality scores for face recognition models',
    builder: buildEvalOptions,
    handler: async (args) => {
      await startBackend(args as GlobalArgs);
      await runEval(args, deps);
    },
  };
}
