/** `diffiqa label`: DifFIQA quality labels for a folder of aligned faces. */
import type { CommandModule } from 'yargs';
import { loadDiffusion } from '../diffusion/load.js';
import { shippedModelPath } from '../models/shipped.js';
import { cosineSchedule } from '../diffusion/schedule.js';
import { DEFAULT_LABEL_FR_MODEL, frWeightsOptions, loadFrModel } from '../fr/registry.js';
import { runLabeller } from '../pipelines/label-run.js';
import { resolveShardSpec } from '../pipelines/records.js';
import { startBackend, type GlobalArgs } from './common.js';

interface LabelArgs extends GlobalArgs {
  data: string;
  diffusion?: string;
  out: string;
  fr: string;
  frWeights?: string;
  frWeightsPrefix: string;
  tStar: number;
  repeats: number;
  ema: boolean;
  seed: number;
  batch: number;
  shard?: string;
}

export const labelCommand: CommandModule<GlobalArgs, LabelArgs> = {
  command: 'label',
  describe: 'Label aligned faces with DifFIQA quality scores (diffusion + FR stability)',
  builder: (y) =>
    y
      .option('data', { type: 'string', demandOption: true, describe: 'Folder of aligned 112x112 faces (searched recursively)' })
      .option('diffusion', { type: 'string', describe: 'Diffusion checkpoint: a run folder, a ckpt-* folder, a safetensors export or a reference diff_pretrain.pt (default: the shipped model, models/diffusion.md)' })
      .option('out', { type: 'string', default: 'labels.csv', describe: 'Output .csv or .jsonl (errors go to <out>.errors.jsonl); rerunning resumes' })
      .option('fr', { type: 'string', default: DEFAULT_LABEL_FR_MODEL, describe: 'FR model that embeds the images (faceres: measured to label best, README "Shipped models")' })
      .option('fr-weights', { type: 'string', describe: 'PyTorch weights (.pth state dict) for an --fr that needs them: r18, r50, r100, mfn, mbf' })
      .option('fr-weights-prefix', { type: 'string', default: '', describe: 'Key prefix stripped from the --fr-weights names (base_model. for eDifFIQA files)' })
      .option('t-star', { type: 'number', default: 5, describe: 'Forward-noising step t* (< 100)' })
      .option('repeats', { type: 'number', default: 10, describe: 'Repeats N per image and per flip' })
      .option('ema', { type: 'boolean', default: false, describe: 'Use the EMA weights (the reference uses the raw ones)' })
      .option('seed', { type: 'number', default: 0, describe: 'Base seed; every image has its own stream derived from it' })
      .option('batch', { type: 'number', default: 3, describe: 'Source images per batch (each gives 2N diffusion rows)' })
      .option('shard', { type: 'string', describe: 'Only shard K of N (K/N, 1-based); auto/N takes K-1 from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm --array=0-(N-1)); join the parts with diffiqa merge' })
      .check((a) => {
        const tStar = Number(a['t-star']);
        if (!(tStar >= 1 && tStar < 100 && Number.isInteger(tStar))) throw new Error('--t-star must be an integer in [1, 99]');
        if (!(a.repeats >= 1 && Number.isInteger(a.repeats))) throw new Error('--repeats must be a positive integer');
        if (!(a.batch >= 1 && Number.isInteger(a.batch))) throw new Error('--batch must be a positive integer');
        return true;
      })
      .example('$0 label --data faces/ --out labels.csv', 'label every face in faces/ with the shipped diffusion model')
      .example('$0 label --data faces/ --diffusion checkpoints/cpu-small --out labels.csv', 'label with your own trained run')
      .example('$0 label --data faces/ --diffusion diff_pretrain.pt --shard 1/4 --out part1.csv', 'label a quarter')
      .example('$0 label --data faces/ --shard auto/4 --out part-$JOB_COMPLETION_INDEX.csv', 'one pod of a 4-pod Kubernetes Indexed Job (deploy/)')
      .example('$0 label --data faces/ --diffusion diff_pretrain.pt --fr r100 --fr-weights cosface_r100.pth', 'label with the reference labelling FR model') as never,
  handler: async (args) => {
    // Resolved before anything loads, so that a pod or array task without its index fails at once.
    const shard = args.shard === undefined ? undefined : resolveShardSpec(args.shard, process.env);
    if (shard !== args.shard) process.stderr.write(`diffiqa: --shard ${args.shard} is shard ${shard}\n`);
    await startBackend(args);
    // The shipped file holds one set of weights (the better-labelling of raw and EMA, measured), so --ema does not
    // apply to it.
    const diffusionFile = args.diffusion ?? shippedModelPath('diffusion');
    const diffusion = loadDiffusion(diffusionFile, { ema: args.diffusion !== undefined && args.ema });
    const fr = await loadFrModel(args.fr, frWeightsOptions(args.frWeights, args.frWeightsPrefix));
    try {
      const summary = await runLabeller(diffusion, cosineSchedule(1000), fr, {
        data: args.data,
        out: args.out,
        tStar: args.tStar,
        repeats: args.repeats,
        seed: args.seed,
        batchSize: args.batch,
        shard,
        imageSize: diffusion.unet.config.imageSize,
      });
      process.stderr.write(
        `diffiqa: labelled ${summary.labelled} images (${summary.skippedDone} already done, ${summary.failed} failed) in ${summary.seconds.toFixed(1)} s -> ${args.out}\n`,
      );
    } finally {
      diffusion.dispose();
      fr.dispose();
    }
  },
};
