/** `diffiqa align IN OUT`: detect, landmark and warp faces to the ArcFace 112x112 template. */
import type { CommandModule } from 'yargs';
import { align, type MultiFacePolicy } from '../fr/align.js';
import { startBackend, type GlobalArgs } from './common.js';

interface AlignArgs extends GlobalArgs {
  input: string;
  output: string;
  multiFace: MultiFacePolicy;
  minScore?: number;
}

export const alignCommand: CommandModule<GlobalArgs, AlignArgs> = {
  command: 'align <input> <output>',
  describe: 'Align faces in photos to the ArcFace 112x112 template (one record per photo in align-results.jsonl)',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true, describe: 'Photo, folder or glob' })
      .positional('output', { type: 'string', demandOption: true, describe: 'Output folder (mirrors the input layout)' })
      .option('multi-face', { choices: ['largest', 'skip'] as const, default: 'largest' as const, describe: 'Several faces in a photo: keep the largest, or skip the photo' })
      .example('$0 align photos/ aligned/', 'align every photo under photos/') as never,
  handler: async (args) => {
    await startBackend(args);
    const records = await align(args.input, args.output, { multiFace: args.multiFace });
    const count = (s: string) => records.filter((r) => r.status === s).length;
    process.stderr.write(
      `diffiqa: ${count('ok')} aligned, ${count('no-face')} without a face, ${count('multiple-faces')} skipped for several faces, ${count('error')} unreadable; records in ${args.output}/align-results.jsonl\n`,
    );
  },
};
