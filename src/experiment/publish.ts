/**
 * The published results of an experiment (`publish:` in its config): a folder, small enough to commit, from which
 * `diffiqa eval` recomputes every number of the tables in seconds, without images, FR models or labelling:
 *
 *   summary.json, pauc.md, edc.csv, edc_*.png/svg   the tables and curves (src/eval/report.ts)
 *   comparisons/<set>__<fr>.csv                      a,b,mated,score: every pair's FR score
 *   qualities/<method>.csv                           path,quality: every method's quality of every image
 *                                                    (the embedding norm per FR model: embedding-norm__<fr>.csv)
 *   rank-correlation.json, versions.json, config.json
 *   README.md                                        what is here, and the command that regenerates the tables
 *
 * The command is built here from the same settings ({@link regenerateArgs}), and a test runs it on a published
 * folder and compares the bytes of pauc.md and summary.json.
 */
import * as path from 'node:path';
import type { EvalResult } from '../eval/evaluate.js';
import { writeEvalOutputs } from '../eval/report.js';
import { writeFileAtomic } from '../util/atomic.js';
import { formatCsv } from '../util/csv.js';
import { ConfigError } from '../util/errors.js';
import type { ExperimentConfig } from './config.js';
import type { EvaluationMaterial, RankCorrelation } from './results.js';

/** What {@link publishResults} writes from. */
export interface PublishInputs {
  cfg: ExperimentConfig;
  results: readonly EvalResult[];
  /** Qualities of the learned methods (labeller, regressors, SER-FIQ) by image key. */
  methods: ReadonlyMap<string, ReadonlyMap<string, number>>;
  material: EvaluationMaterial;
  correlations: readonly RankCorrelation[];
  versions: Record<string, string>;
}

/** The file stem of a method: `DifFIQA(R)` -> `diffiqa-r`. */
export function methodFileStem(method: string): string {
  return method.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** One quality file of the folder: the method's name in tables and its file (`{fr}` for per-FR files). */
interface QualityFile {
  method: string;
  file: string;
}

/** The quality files in the tables' method order (the order `diffiqa eval` must get them in). */
function qualityFiles(dir: string, results: readonly EvalResult[], material: EvaluationMaterial): QualityFile[] {
  const methods = [...new Set(results.map((r) => r.method))];
  const seen = new Map<string, string>();
  return methods.map((method) => {
    const perFr = [...material.baselines.keys()].some((k) => k.startsWith(`${method}__`));
    const stem = methodFileStem(method);
    const other = seen.get(stem);
    if (other !== undefined) throw new ConfigError('<publish>', method, `methods "${other}" and "${method}" would share the file ${stem}.csv; rename one`);
    seen.set(stem, method);
    return { method, file: path.join(dir, 'qualities', perFr ? `${stem}__{fr}.csv` : `${stem}.csv`) };
  });
}

/** The comparison files in the tables' column order. */
function comparisonFiles(dir: string, results: readonly EvalResult[]): string[] {
  return [...new Set(results.map((r) => `${r.dataset}__${r.fr}`))].map((col) => path.join(dir, 'comparisons', `${col}.csv`));
}

/** The `diffiqa eval` arguments that recompute the tables of a folder published with these results and settings. */
export function regenerateArgs(dir: string, cfg: ExperimentConfig, results: readonly EvalResult[], material: EvaluationMaterial, out: string): string[] {
  const boot = cfg.eval.bootstrap;
  return [
    'eval',
    '--comparisons',
    ...comparisonFiles(dir, results),
    ...qualityFiles(dir, results, material).flatMap((q) => ['--quality', `${q.method}=${q.file}`]),
    '--baselines',
    'none',
    '--fmr',
    String(cfg.eval.fmr),
    '--discard-limits',
    cfg.eval.limits.join(','),
    '--threshold',
    cfg.eval.threshold.join(','),
    ...(boot ? ['--bootstrap', String(boot.samples), '--bootstrap-seed', String(boot.seed)] : []),
    '--out',
    out,
  ];
}

/** Quotes an argument for a POSIX shell when it needs it. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./,=:@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Writes the published folder; returns how many files it wrote. */
export async function publishResults(dir: string, inputs: PublishInputs): Promise<{ files: number }> {
  const { cfg, results, methods, material } = inputs;
  let files = 0;
  const write = (file: string, text: string): void => {
    writeFileAtomic(file, text);
    files++;
  };
  const written = await writeEvalOutputs(dir, results);
  files += 3 + written.plots.length * 2;
  for (const [column, comparisons] of material.comparisons) {
    write(path.join(dir, 'comparisons', `${column}.csv`), formatCsv(['a', 'b', 'mated', 'score'], comparisons.map((c) => [c.a, c.b, c.mated ? 1 : 0, c.score])));
  }
  const qualityOf = (name: string): ReadonlyMap<string, number> | undefined => methods.get(name) ?? material.baselines.get(name);
  for (const { method, file } of qualityFiles(dir, results, material)) {
    const names = file.includes('{fr}') ? cfg.eval.fr.map((fr) => [`${method}__${fr}`, file.replace('{fr}', fr)] as const) : [[method, file] as const];
    for (const [name, target] of names) {
      const q = qualityOf(name);
      if (!q) throw new ConfigError('<publish>', name, 'no qualities to publish for this method');
      write(target, formatCsv(['path', 'quality'], [...q].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    }
  }
  write(path.join(dir, 'rank-correlation.json'), `${JSON.stringify(inputs.correlations, null, 2)}\n`);
  write(path.join(dir, 'versions.json'), `${JSON.stringify(inputs.versions, null, 2)}\n`);
  write(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const command = ['npx', 'diffiqa', ...regenerateArgs(dir, cfg, results, material, '/tmp/regenerated')].map(shellQuote).join(' ');
  write(path.join(dir, 'README.md'), publishedReadme(dir, cfg, command));
  return { files };
}

/** README.md of the published folder. */
function publishedReadme(dir: string, cfg: ExperimentConfig, command: string): string {
  return [
    `# Published results: ${path.basename(dir)}`,
    '',
    'Written by `diffiqa experiment` (settings in `config.json`, software in `versions.json`). Everything the tables',
    'need is here, so they can be recomputed without images, FR models or labelling:',
    '',
    '| file | what |',
    '|---|---|',
    '| `pauc.md`, `summary.json` | normalised pAUC of every method, set and FR model (with 95% bootstrap intervals when computed) |',
    '| `edc.csv`, `edc_*.png`, `edc_*.svg` | the EDC curves |',
    '| `comparisons/<set>__<fr>.csv` | `a,b,mated,score`: the FR model\'s cosine score of every pair |',
    '| `qualities/<method>.csv` | `path,quality` of every image (the embedding norm per FR model: `embedding-norm__<fr>.csv`) |',
    '| `rank-correlation.json` | Spearman correlation of each regressor with the DifFIQA labels, per set |',
    '',
    `Sets: ${cfg.protocol.sets.join(', ')}; FR models: ${cfg.eval.fr.join(', ')}; FMR ${cfg.eval.fmr}; discard limits ${cfg.eval.limits.join(', ')}; thresholds: ${cfg.eval.threshold.join(', ')}.`,
    '',
    'Recompute every table (the same bytes of `pauc.md` and `summary.json`):',
    '',
    '```sh',
    command,
    '```',
    '',
    'The bootstrap intervals take most of its time (an EDC per sample, method and cell); without `--bootstrap` and',
    '`--bootstrap-seed` the same command recomputes every pAUC value (not the intervals) in seconds.',
    '',
  ].join('\n');
}
