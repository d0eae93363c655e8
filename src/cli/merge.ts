/** `diffiqa merge`: joins the per-shard outputs of `label` (or `score`) into one file. */
import type { CommandModule } from 'yargs';
import { mergeResults } from '../pipelines/records.js';
import type { GlobalArgs } from './common.js';

interface MergeArgs extends GlobalArgs {
  parts: string[];
  out: string;
}

export const mergeCommand: CommandModule<GlobalArgs, MergeArgs> = {
  command: 'merge <parts..>',
  describe: 'Merge shard outputs of label/score into one file sorted by path',
  builder: (y) =>
    y
      .positional('parts', { type: 'string', array: true, demandOption: true, describe: 'Shard output files' })
      .option('out', { type: 'string', demandOption: true, describe: 'Merged .csv or .jsonl' })
      .example('$0 merge part1.csv part2.csv --out labels.csv', 'join two shards') as never,
  handler: (args) => {
    const { rows, errors } = mergeResults(args.parts, args.out);
    process.stderr.write(`diffiqa: merged ${args.parts.length} parts: ${rows} rows, ${errors} errors -> ${args.out}\n`);
  },
};
