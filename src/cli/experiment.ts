/** `diffiqa experiment CONFIG`: the paper's experiment as cached, resumable stages, ending in a report folder. */
import type { CommandModule } from 'yargs';
import { runExperiment } from '../experiment/experiment.js';
import { deepMerge, parseOverrides } from '../util/schema.js';
import { startBackend, withStopSignal, type GlobalArgs } from './common.js';

interface ExperimentArgs extends GlobalArgs {
  config: string;
  set?: string[];
  frWeights?: string;
  quiet: boolean;
}

export const experimentCommand: CommandModule<GlobalArgs, ExperimentArgs> = {
  command: 'experiment <config>',
  describe: 'Train, label, distil and evaluate as a configs/experiments/*.yaml describes; rerun to resume',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'configs/experiments/*.yaml' })
      .option('set', { type: 'string', array: true, describe: 'Config override key.path=value (repeatable)' })
      .option('fr-weights', { type: 'string', describe: 'PyTorch weights for the labelling FR model (label.fr r18/r50/r100/mfn/mbf); the same as --set label.frWeights=FILE' })
      .option('quiet', { type: 'boolean', default: false, describe: 'No progress bars' })
      .example('$0 experiment configs/experiments/lfw-cfp.yaml', 'the LFW/CFP experiment (resumes after a stop)')
      .example('$0 experiment configs/experiments/lfw-cfp.yaml --set label.repeats=2 --set out=runs/quick', 'a cheaper variant in its own folder') as never,
  handler: async (args) => {
    await startBackend(args);
    let overrides: unknown = parseOverrides(args.set);
    if (args.frWeights) overrides = deepMerge(overrides, { label: { frWeights: args.frWeights } });
    await withStopSignal((signal) => runExperiment({ configFile: args.config, overrides, quiet: args.quiet, signal }));
  },
};
