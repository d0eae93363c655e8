/** The registered subcommands, in the order `diffiqa --help` lists them. */
import type { CommandModule } from 'yargs';
import { embedImages } from '../fr/embed.js';
import { alignCommand } from './align.js';
import { demoCommand } from './demo.js';
import { experimentCommand } from './experiment.js';
import { exportCommand } from './export.js';
import { makeEvalCommand } from './eval.js';
import { labelCommand } from './label.js';
import { mergeCommand } from './merge.js';
import { scoreCommand } from './score.js';
import { serveCommand } from './serve.js';
import { trainDiffusionCommand } from './train-diffusion.js';
import { trainRegressorCommand } from './train-regressor.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  demoCommand,
  alignCommand,
  trainDiffusionCommand,
  labelCommand,
  mergeCommand,
  trainRegressorCommand,
  scoreCommand,
  exportCommand,
  serveCommand,
  makeEvalCommand({ embedImages: (fr, paths) => embedImages(fr, paths) }),
  experimentCommand,
];
