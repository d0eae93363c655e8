/** `diffiqa demo` (also `npm start`): the whole pipeline on bundled sample photos, ending in an HTML report. */
import type { CommandModule } from 'yargs';
import { runDemo } from '../experiment/demo.js';
import { startBackend, type GlobalArgs } from './common.js';

interface DemoArgs extends GlobalArgs {
  data?: string;
  out: string;
  steps?: number;
  repeats: number;
  maxFaces: number;
}

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole pipeline on sample photos (or --data DIR) and write an HTML report',
  builder: (y) =>
    y
      .option('data', { type: 'string', describe: 'Folder of photos (default: the sample photos of @vladmandic/face-api)' })
      .option('out', { type: 'string', default: 'demo-output', describe: 'Output folder; rerunning resumes finished stages' })
      .option('steps', { type: 'number', describe: 'Diffusion training steps (default from configs/demo/diffusion.yaml)' })
      .option('repeats', { type: 'number', default: 2, describe: 'Labeller repeats N (the paper uses 10)' })
      .option('max-faces', { type: 'number', default: 12, describe: 'Use at most this many faces' })
      .example('$0 demo', 'the bundled photos')
      .example('$0 demo --data my-photos/ --out my-demo', 'your own photos') as never,
  handler: async (args) => {
    await startBackend(args);
    await runDemo({ data: args.data, out: args.out, diffusionSteps: args.steps, repeats: args.repeats, maxFaces: args.maxFaces });
  },
};
