/** The registered subcommands, in the order `diffiqa --help` lists them. */
import type { CommandModule } from 'yargs';
import { embedImages } from '../fr/embed.js';
import { makeEvalCommand } from './eval.js';
import { labelCommand } from './label.js';
import { mergeCommand } from './merge.js';
import { trainDiffusionCommand } from './train-diffusion.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  trainDiffusionCommand,
  labelCommand,
  mergeCommand,
  makeEvalCommand({ embedImages: (fr, paths) => embedImages(fr, paths) }),
];
