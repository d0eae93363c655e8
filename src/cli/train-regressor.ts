/** `diffiqa train-regressor`: train a DifFIQA(R) or eDifFIQA quality regressor from DifFIQA labels. */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadRegressorConfig } from '../regressor/config.js';
import { trainRegressor } from '../train/train-regressor.js';
import { startBackend, withStopSignal, type GlobalArgs } from './common.js';
import { parseOverrides } from '../util/schema.js';

interface TrainRegressorArgs extends GlobalArgs {
  config: string;
  labels: string;
  data: string;
  out?: string;
  resume: boolean;
  set?: string[];
}

export const trainRegressorCommand: CommandModule<GlobalArgs, TrainRegressorArgs> = {
  command: 'train-regressor',
  describe: 'Train a DifFIQA(R) or eDifFIQA quality regressor on DifFIQA labels (keeps the best-validation model)',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'Regressor config (configs/regressor/*.yaml)' })
      .option('labels', { type: 'string', demandOption: true, describe: "Labeller output (.csv/.jsonl with 'path' and 'score')" })
      .option('data', { type: 'string', demandOption: true, describe: 'Folder of the labelled aligned faces (label paths are relative to it)' })
      .option('out', { type: 'string', describe: 'Run folder (default checkpoints/<config name>)' })
      .option('resume', { type: 'boolean', default: false, describe: "Continue from the run folder's latest checkpoint" })
      .option('set', { type: 'string', array: true, describe: 'Override config values, e.g. --set train.epochs=2' })
      .example(
        '$0 train-regressor --config configs/regressor/ediffiqa-mobileface.yaml --labels labels.csv --data faces/',
        'train eDifFIQA on the bundled mobileface backbone; the best model is checkpoints/ediffiqa-mobileface/best.safetensors',
      )
      .example('$0 train-regressor --config configs/regressor/diffiqa-r.yaml --labels vggface2-qs.csv --data vggface2/ --resume', 'resume a DifFIQA(R) run') as never,
  handler: async (args) => {
    await startBackend(args);
    const config = loadRegressorConfig(args.config, parseOverrides(args.set));
    const runDir = args.out ?? path.join('checkpoints', path.basename(args.config).replace(/\.ya?ml$/i, ''));
    const r = await withStopSignal((signal) =>
      trainRegressor({ config, configFile: args.config, labels: args.labels, data: args.data, runDir, resume: args.resume, signal }),
    );
    process.stderr.write(
      `diffiqa: ${r.steps} steps (${r.trainItems} train / ${r.valItems} val images, labels in [${r.labels.min}, ${r.labels.max}]); ` +
        `best validation loss ${r.bestValLoss.toFixed(5)} -> ${r.bestFile ?? '(none yet)'}\n`,
    );
  },
};
