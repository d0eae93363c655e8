/** `diffiqa experiment CONFIG`: the paper's experiment as cached, resumable stages, ending in a report folder. */
import type { CommandModule } from 'yargs';
import { runExperiment } from '../experiment/experiment.js';
import { parseOverrides } from '../util/schema.js';
import { startBackend, withStopSignal, type GlobalArgs } from './common.js';

interface ExperimentArgs extends GlobalArgs {
  config: string;
  set?: string[];
  quiet: boolean;
}

export const experimentCommand: CommandModule<GlobalArgs, ExperimentArgs> = {
  command: 'experiment <config>',
  describe: 'Train, label, distil and evaluate as a configs/experiments/*.yaml describes; rerun to resume',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'configs/experiments/*.yaml' })
      .option('set', { type: 'string', array: true, describe: 'Config override key.path=value (repeatable)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'No progress bars' })
      .example('$0 experiment configs/experiments/lfw-cfp.yaml', 'the LFW/CFP experiment (resumes after a stop)')
      .example('$0 experiment configs/experiments/lfw-cfp.yaml --set label.repeats=2 --set out=runs/quick', 'a cheaper variant in its own folder') as never,
  handler: async (args) => {
    await startBackend(args);
    await withStopSignal((signal) => runExperiment({ configFile: args.config, overrides: parseOverrides(args.set), quiet: args.quiet, signal }));
  },
};
