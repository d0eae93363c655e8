/** `diffiqa train-diffusion`: trains the extended-DDPM UNet on a folder of faces. */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadDiffusionConfig } from '../diffusion/config.js';
import { trainDiffusion } from '../train/train-diffusion.js';
import { deepMerge } from '../util/schema.js';
import { startBackend, withStopSignal, type GlobalArgs } from './common.js';
import { parseOverrides } from '../util/schema.js';

interface TrainDiffusionArgs extends GlobalArgs {
  config: string;
  data?: string;
  out?: string;
  resume: boolean;
  resumeFrom?: string;
  initFrom?: string;
  steps?: number;
  workers?: number;
  set?: string[];
}

/** Default run folder: checkpoints/<config file name without extension>. */
export function defaultRunDir(configFile: string): string {
  return path.join('checkpoints', path.basename(configFile).replace(/\.ya?ml$/i, ''));
}

export const trainDiffusionCommand: CommandModule<GlobalArgs, TrainDiffusionArgs> = {
  command: 'train-diffusion',
  describe: 'Train the DifFIQA diffusion model (extended DDPM) on a folder of face images',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'configs/diffusion/*.yaml' })
      .option('data', { type: 'string', describe: 'Image folder (overrides data.folder)' })
      .option('out', { type: 'string', describe: 'Run folder (default checkpoints/<config name>)' })
      .option('resume', { type: 'boolean', default: false, describe: 'Continue from the run folder\'s latest checkpoint' })
      .option('resume-from', { type: 'string', describe: 'Continue from this checkpoint folder (ckpt-*)' })
      .option('init-from', { type: 'string', describe: 'Start a new run from these UNet weights (a safetensors export, ckpt-* folder or .pt) with a fresh optimiser; ignored when resuming' })
      .option('steps', { type: 'number', describe: 'Total optimiser steps (overrides train.steps)' })
      .option('workers', { type: 'number', describe: 'Threads that build training pairs (default: cores - 1, 1 to 8)' })
      .option('set', { type: 'string', array: true, describe: 'Config override key.path=value (repeatable)' })
      .check((a) => {
        if (a.workers !== undefined && !(Number.isInteger(a.workers) && a.workers >= 1)) throw new Error('--workers must be a positive integer');
        return true;
      })
      .example('$0 train-diffusion --config configs/diffusion/cpu-small.yaml --data faces/', 'train from scratch')
      .example('$0 train-diffusion --config configs/diffusion/cpu-small.yaml --data faces/ --resume', 'continue after a stop')
      .example('$0 train-diffusion --config configs/diffusion/shipped.yaml --init-from models/diffusion-cpu-small.safetensors --resume', 'fine-tune the shipped model')
      .example('$0 train-diffusion --config configs/diffusion/cpu-small.yaml --set train.lr=1e-4 --set unet.dim=32', 'override fields') as never,
  handler: async (args) => {
    await startBackend(args);
    let overrides: unknown = parseOverrides(args.set);
    if (args.data) overrides = deepMerge(overrides, { data: { folder: args.data } });
    if (args.steps !== undefined) overrides = deepMerge(overrides, { train: { steps: args.steps } });
    const config = loadDiffusionConfig(args.config, overrides);
    const runDir = args.out ?? defaultRunDir(args.config);
    process.stderr.write(`diffiqa: training ${config.train.steps} steps on ${config.data.folder} -> ${runDir}\n`);
    const r = await withStopSignal((signal) =>
      trainDiffusion(config, { runDir, resume: args.resume, resumeFrom: args.resumeFrom, initFrom: args.initFrom, workers: args.workers, signal }),
    );
    const mse = r.restoreMse ? `; held-out restoration MSE ${r.restoreMse.before.toFixed(5)} -> ${r.restoreMse.after.toFixed(5)}` : '';
    process.stderr.write(`diffiqa: reached step ${r.step} (${r.trainImages} training images, ${r.heldOut.length} held out)${mse}\n`);
  },
};
