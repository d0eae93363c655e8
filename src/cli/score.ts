/** `diffiqa score`: fast quality scores of aligned faces with a trained regressor (ours or the authors' .pth). */
import type { CommandModule } from 'yargs';
import { scoreFiles } from '../pipelines/score.js';
import type { RgbImage } from '../data/image.js';
import { alignFile, loadAligner, type Aligner } from '../fr/align.js';
import { DataError } from '../util/errors.js';
import { startBackend, type GlobalArgs } from './common.js';

interface ScoreArgs extends GlobalArgs {
  inputs: string[];
  model?: string;
  out: string;
  batch: number;
  clip: boolean;
  align: boolean;
}

export const scoreCommand: CommandModule<GlobalArgs, ScoreArgs> = {
  command: 'score <inputs..>',
  describe: 'Score aligned 112x112 faces with a DifFIQA(R)/eDifFIQA regressor (higher = better)',
  builder: (y) =>
    y
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'Image files, folders (recursive) or globs' })
      .option('model', { type: 'string', describe: 'best.safetensors or its run folder, or diffiqa(r).pth / ediffiqa{T,S,M,L}.pth (default: the shipped eDifFIQA, models/ediffiqa.md)' })
      .option('out', { type: 'string', default: 'scores.csv', describe: 'Output .csv or .jsonl (errors go to <out>.errors.jsonl); rerunning resumes' })
      .option('batch', { type: 'number', default: 64, describe: 'Images per forward pass' })
      .option('clip', { type: 'boolean', default: false, describe: 'Clip scores to [0,1] (raw scores may exceed 1; only the ranking matters)' })
      .option('align', { type: 'boolean', default: false, describe: 'Photos, not crops: detect the largest face and align it to the ArcFace template first (a photo without a face is recorded as failed)' })
      .check((a) => {
        if (!(a.batch >= 1 && Number.isInteger(a.batch))) throw new Error('--batch must be a positive integer');
        return true;
      })
      .example('$0 score faces/', 'score every aligned face under faces/ with the shipped eDifFIQA model -> scores.csv')
      .example('$0 score faces/ --model ediffiqaT.pth --out scores.csv', "with the authors' eDifFIQA(T)")
      .example("$0 score 'lfw/**/*.jpg' --model checkpoints/ediffiqa-mobileface --clip --out lfw.jsonl", 'our model, clipped scores, JSONL') as never,
  handler: async (args) => {
    await startBackend(args);
    const t0 = Date.now();
    const aligner = args.align ? loadAligner() : undefined;
    let s;
    try {
      s = await scoreFiles(args.inputs, { model: args.model, out: args.out, batchSize: args.batch, clip: args.clip, prepare: aligner && alignedCrop(aligner) });
    } finally {
      aligner?.dispose();
    }
    const secs = (Date.now() - t0) / 1000;
    process.stderr.write(
      `diffiqa: scored ${s.scored} images (${s.skipped} already done, ${s.failed} failed) in ${secs.toFixed(1)} s -> ${args.out}\n`,
    );
  },
};

/** Decodes a photo and returns its largest face aligned to the 112x112 ArcFace template, as `diffiqa align` does. */
function alignedCrop(aligner: Aligner): (file: string) => Promise<RgbImage> {
  return async (file) => {
    const { record, crop } = await alignFile(file, aligner);
    if (!crop) throw new DataError(file, record.status === 'no-face' ? 'no face found (--align)' : `not aligned: ${record.status}`);
    return crop;
  };
}
