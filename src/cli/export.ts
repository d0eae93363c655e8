/** `diffiqa export`: a regressor as a tfjs graph model folder or an ONNX file, normalisation inside the graph. */
import type { CommandModule } from 'yargs';
import { EXPORT_FORMATS, exportRegressor, type ExportFormat } from '../export/exporter.js';
import { DiffiqaError } from '../util/errors.js';
import { startBackend, type GlobalArgs } from './common.js';

interface ExportArgs extends GlobalArgs {
  model?: string;
  format: ExportFormat;
  out: string;
}

const CONTRACT =
  'Input contract (both formats): float32 RGB faces aligned to the 112x112 ArcFace template (as diffiqa align writes them), ' +
  'values in [0,1]; the normalisation is inside the graph. tfjs: input NHWC [N,112,112,3]; onnx: input "image" NCHW [N,3,112,112], ' +
  'dynamic N. Output "quality" [N]: the raw score diffiqa score prints (higher is better, not clipped). The contract and the ' +
  "model's provenance are stored in the model (tfjs userDefinedMetadata.diffiqa, ONNX metadata_props diffiqa.contract / diffiqa.provenance).";

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export [model]',
  describe: 'Export a DifFIQA(R)/eDifFIQA regressor as a tfjs graph model or an ONNX file (BatchNorm folded)',
  builder: (y) =>
    y
      .positional('model', { type: 'string', describe: 'best.safetensors or its run folder, or diffiqa(r).pth / ediffiqa{T,S,M,L}.pth (default: the shipped eDifFIQA, models/ediffiqa.md)' })
      .option('format', { type: 'string', demandOption: true, describe: 'tfjs: a graph-model folder (model.json + weight shards); onnx: one .onnx file (opset 13)' })
      .option('out', { type: 'string', demandOption: true, describe: 'tfjs: the folder to write (created, or replaced if it holds an earlier export); onnx: the .onnx file' })
      // A check rather than yargs `choices`: its multi-line message would lose the valid values in the one-line error.
      .check((a) => {
        if (!(EXPORT_FORMATS as readonly string[]).includes(a.format)) throw new DiffiqaError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got '${a.format}'`, 'E_USAGE');
        return true;
      })
      .example('$0 export --format onnx --out ediffiqa.onnx', 'the shipped eDifFIQA as ONNX')
      .example('$0 export --format tfjs --out web/ediffiqa', 'as a tfjs graph model: tf.loadGraphModel("web/ediffiqa/model.json")')
      .example('$0 export checkpoints/ediffiqa-mobileface --format onnx --out mine.onnx', "a trained run's best model")
      .epilogue(CONTRACT) as never,
  handler: async (args) => {
    await startBackend(args);
    const r = exportRegressor({ model: args.model, format: args.format, out: args.out });
    const what = r.format === 'tfjs' ? `${r.files.length} files` : '1 file';
    process.stderr.write(`diffiqa: exported ${r.model} (${r.source}) as ${r.format} -> ${r.out} (${what}, ${(r.bytes / 1e6).toFixed(1)} MB)\n`);
  },
};
