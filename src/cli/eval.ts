/**
 * `diffiqa eval`: EDC curves and pAUC of quality files (and baselines) for FR models on a verification protocol
 * (METHOD.md §5). Two inputs:
 * - `--comparisons FILE...`: CSVs `a,b,mated,score` with the FR scores already computed. One file takes its FR
 *   label from --fr; files named `<set>__<fr>.csv` (as the experiment publishes them) take set and FR from the name,
 *   and a quality file name may contain `{fr}` (e.g. the embedding norm of each FR model);
 * - `--protocol lfw|cfp-ff|cfp-fp|csv --data DIR`: pairs from the protocol, embeddings per --fr model from the
 *   embedding cache, computing the missing ones with the injected `embedImages` (the only FR-dependent step).
 * Outputs go to --out (see src/eval/report.ts).
 */
import { startBackend, type GlobalArgs } from './common.js';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BASELINE_NAMES, type BaselineName } from '../eval/baselines.js';
import { columnSeed } from '../eval/bootstrap.js';
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
  comparisons?: string[];
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
  threshold: string;
  bootstrap: number;
  bootstrapSeed: string;
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

/** One `NAME=FILE` quality option; FILE may contain `{fr}`, replaced by each FR model's name. */
interface QualitySpec {
  name: string;
  file: string;
}

/** Parses every `NAME=FILE` quality option. */
function parseQualitySpecs(specs: readonly string[]): QualitySpec[] {
  const out: QualitySpec[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq).trim();
    const file = spec.slice(eq + 1).trim();
    if (eq <= 0 || file === '') throw new ConfigError(CLI, '--quality', `expected NAME=FILE, got "${spec}"`);
    if (out.some((q) => q.name === name)) throw new ConfigError(CLI, '--quality', `method name "${name}" given twice`);
    out.push({ name, file });
  }
  return out;
}

/** The quality maps of every spec for one FR model (files read once, whatever the number of FR models). */
function qualitiesFor(specs: readonly QualitySpec[], fr: string, root: string | undefined, cache: Map<string, Map<string, number>>) {
  const qualities = new Map<string, Map<string, number>>();
  const sources = new Map<string, string>();
  for (const { name, file } of specs) {
    const resolved = file.replaceAll('{fr}', fr);
    if (!cache.has(resolved)) cache.set(resolved, loadQualityFile(resolved, root));
    qualities.set(name, cache.get(resolved) as Map<string, number>);
    sources.set(name, resolved);
  }
  return { qualities, sources };
}

/** Parses "fixed", "recompute" or "fixed,recompute". */
function parseThresholdModes(text: string): ThresholdMode[] {
  const modes = text.split(',').map((m) => m.trim());
  for (const m of modes) {
    if (m !== 'fixed' && m !== 'recompute') throw new ConfigError(CLI, '--threshold', `expected fixed, recompute or both (fixed,recompute), got "${text}"`);
  }
  return [...new Set(modes)] as ThresholdMode[];
}

/** The (set, FR) of a published comparison file `<set>__<fr>.csv`, else null. */
export function parseComparisonFileName(file: string): { dataset: string; fr: string } | null {
  const m = /^(.+)__([^_][^/\\]*)\.csv$/i.exec(path.basename(file));
  return m ? { dataset: m[1] as string, fr: m[2] as string } : null;
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
  if (!(Number.isInteger(args.bootstrap) && args.bootstrap >= 0)) throw new ConfigError(CLI, '--bootstrap', `expected a sample count >= 0, got ${args.bootstrap}`);
  const common = {
    fmr: args.fmr,
    limits,
    discardLevels: makeDiscardLevels(args.discardMax, args.discardStep),
  };
  const modes = parseThresholdModes(args.threshold);
  const specs = parseQualitySpecs(args.quality);
  const cache = new Map<string, Map<string, number>>();
  const folds = args.folds ? parseFolds(args.folds) : undefined;
  const results: EvalResult[] = [];
  const evaluateAll = (o: Omit<Parameters<typeof evaluate>[0], 'thresholdMode'>): void => {
    const bootstrap = args.bootstrap > 0 ? { bootstrap: { samples: args.bootstrap, seed: columnSeed(args.bootstrapSeed, o.dataset, o.fr) } } : {};
    for (const thresholdMode of modes) results.push(...evaluate({ ...o, ...common, ...bootstrap, thresholdMode }));
  };
  if (args.comparisons !== undefined) {
    const several = args.comparisons.length > 1;
    if (args.fr.length > 1) throw new ConfigError(CLI, '--fr', 'with --comparisons the scores belong to one FR model: give one --fr label (or name the files <set>__<fr>.csv)');
    for (const file of args.comparisons) {
      const named = parseComparisonFileName(file);
      if (several && !named) throw new ConfigError(CLI, '--comparisons', `with several files each must be named <set>__<fr>.csv, got "${file}"`);
      const comparisons: ScoredPair[] = filterFolds(loadComparisonCsv(file), folds);
      const fr = args.fr[0] ?? named?.fr ?? 'given';
      const dataset = (several ? named?.dataset : args.dataset) ?? named?.dataset ?? path.basename(file).replace(/\.[^.]*$/, '');
      const { qualities, sources } = qualitiesFor(specs, fr, args.data, cache);
      const images = listPairImages(comparisons);
      const all = await addBaselines(qualities, resolveBaselines(args.baselines, args.data !== undefined, false), images, args, undefined);
      log(`eval: ${fr} on ${dataset}: ${comparisons.length} comparisons, ${all.size} methods`);
      evaluateAll({ fr, dataset, comparisons, qualities: all, qualitySources: sources });
    }
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
      const { qualities, sources } = qualitiesFor(specs, fr, args.data, cache);
      const all = await addBaselines(qualities, baselines, images, args, embeddings);
      evaluateAll({ fr, dataset, pairs, embeddings, qualities: all, qualitySources: sources });
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
    .option('comparisons', { type: 'string', array: true, describe: 'CSV(s) a,b,mated,score with precomputed FR scores; several files must be named <set>__<fr>.csv' })
    .option('protocol', { choices: ['lfw', 'cfp-ff', 'cfp-fp', 'csv'] as const, describe: 'Pair protocol read from --data' })
    .option('pairs', { type: 'string', describe: 'With --protocol csv: CSV a,b,mated[,fold] of dataset-relative paths' })
    .option('data', { type: 'string', describe: 'Dataset folder (image paths and quality paths are relative to it)' })
    .option('dataset', { type: 'string', describe: 'Dataset label in reports (default: protocol or file name)' })
    .option('fr', { type: 'string', array: true, default: [] as string[], describe: 'FR model(s); with --comparisons a label' })
    .option('quality', { type: 'string', array: true, default: [] as string[], describe: 'NAME=FILE quality file(s) (CSV/JSONL path,quality|score); {fr} in FILE is replaced by each FR model' })
    .option('fmr', { type: 'number', default: 1e-3, describe: 'Target FMR of the threshold' })
    .option('discard-limits', { type: 'string', default: '0.2,0.3', describe: 'pAUC discard limits' })
    .option('discard-max', { type: 'number', default: 0.95, describe: 'Last discard level' })
    .option('discard-step', { type: 'number', default: 0.05, describe: 'Discard level step' })
    .option('threshold', { type: 'string', default: 'fixed', describe: 'fixed at zero discard (ISO/fiqat), recompute per level (CR-FIQA), or both: fixed,recompute' })
    .option('bootstrap', { type: 'number', default: 0, describe: 'Bootstrap samples of the 95% interval of each normalised pAUC (identities resampled); 0 = none' })
    .option('bootstrap-seed', { type: 'string', default: '0', describe: 'Seed of the bootstrap' })
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
