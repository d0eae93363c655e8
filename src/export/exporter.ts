/**
 * `exportRegressor`: a DifFIQA(R)/eDifFIQA regressor as a file other runtimes load, with one input contract for
 * every format and the normalisation inside the graph: float32 RGB faces aligned to the 112x112 ArcFace template
 * (as `diffiqa align` writes them), values in [0,1]; one raw quality per face out (higher is better, unclipped,
 * exactly what `diffiqa score` prints).
 * - `tfjs`: a graph-model folder (model.json + weight shards) for `tf.loadGraphModel`, input NHWC `[N,112,112,3]`;
 * - `onnx`: one `.onnx` file (opset 13), input `image` NCHW `[N,3,112,112]`, output `quality` `[N]`.
 * The network is described once (src/export/regressor-graph.ts, BatchNorm folded) and serialised per format. The
 * contract and the provenance (model, source file and its SHA-256, label range, diffiqa version) travel in the
 * model: tfjs `userDefinedMetadata.diffiqa`, ONNX `metadata_props` `diffiqa.contract` / `diffiqa.provenance`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File, shippedModelPath } from '../models/shipped.js';
import { describeSpec, type RegressorSpec } from '../regressor/spec.js';
import { loadRegressorWeights, type RegressorMeta } from '../regressor/weights.js';
import { writeFileAtomic, writeFolderAtomic } from '../util/atomic.js';
import { DiffiqaError, RegistryError } from '../util/errors.js';
import { diffiqaVersion } from '../util/format-version.js';
import { toOnnxModel } from './onnx.js';
import { describeRegressorGraph, EXPORT_INPUT_SIZE, INPUT_NAME, OUTPUT_NAME } from './regressor-graph.js';
import { MODEL_JSON, SHARD_PATTERN, toTfjsGraphModel } from './tfjs.js';

/** The export formats (registry keys, permanent). */
export const EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What the exported model takes and returns; stored in every export. */
export interface ExportContract {
  input: {
    name: typeof INPUT_NAME;
    dtype: 'float32';
    layout: 'NHWC' | 'NCHW';
    shape: string;
    range: [0, 1];
    colour: 'RGB';
    alignment: string;
  };
  output: { name: typeof OUTPUT_NAME; dtype: 'float32'; shape: '[N]'; meaning: string };
}

/** Where the exported weights came from; stored in every export. */
export interface ExportProvenance {
  /** `kind/backbone`, e.g. `ediffiqa/mobileface`. */
  model: string;
  spec: RegressorSpec;
  /** Base name of the weight file and its SHA-256. */
  source: string;
  sourceSha256: string;
  /** Min-max range of the training labels (null for the authors' weights). */
  labels: RegressorMeta['labels'];
  /** The regressor file's own provenance (step, validation loss, config). */
  info: Record<string, unknown>;
  exporter: string;
  /** What the exporter changed: BatchNorm folding (numerically equal up to float rounding). */
  transforms: string;
}

/** The contract for a layout. */
export function exportContract(layout: 'NHWC' | 'NCHW'): ExportContract {
  const s = EXPORT_INPUT_SIZE;
  return {
    input: {
      name: INPUT_NAME,
      dtype: 'float32',
      layout,
      shape: layout === 'NHWC' ? `[N,${s},${s},3]` : `[N,3,${s},${s}]`,
      range: [0, 1],
      colour: 'RGB',
      alignment: `faces aligned to the ArcFace ${s}x${s} template (5 points), as diffiqa align writes them`,
    },
    output: {
      name: OUTPUT_NAME,
      dtype: 'float32',
      shape: '[N]',
      meaning: 'one raw quality score per face, higher is better, not clipped to [0,1] (as diffiqa score)',
    },
  };
}

/** Options of `exportRegressor`. */
export interface ExportOptions {
  /** A regressor file or run folder, as `diffiqa score --model` takes. Default: the shipped eDifFIQA. */
  model?: string;
  format: ExportFormat;
  /** tfjs: the model folder (created or replaced); onnx: the `.onnx` file. */
  out: string;
}

/** What an export wrote. */
export interface ExportResult {
  format: ExportFormat;
  /** The folder (tfjs) or file (onnx) written. */
  out: string;
  /** The files written, relative to `out` for tfjs. */
  files: string[];
  bytes: number;
  /** `kind/backbone` of the exported model. */
  model: string;
  /** The weight file read. */
  source: string;
}

/** A folder an export may replace: empty, or only a tfjs graph model's files (model.json and shards). */
function isTfjsModelFolder(dir: string): boolean {
  return fs.readdirSync(dir).every((f) => f === MODEL_JSON || SHARD_PATTERN.test(f));
}

function oneLine(c: ExportContract): string {
  return `input '${c.input.name}' float32 ${c.input.layout} ${c.input.shape}, RGB in [0,1], ${c.input.alignment}; output '${c.output.name}' float32 [N]: ${c.output.meaning}`;
}

/**
 * Exports a regressor (BatchNorm folded, input normalisation inside the graph) as a tfjs graph model folder or an
 * ONNX file, written atomically.
 * @example exportRegressor({ format: 'onnx', out: 'ediffiqa.onnx' }); // { model: 'ediffiqa/mobileface', files: ['ediffiqa.onnx'], ... }
 * @throws CheckpointError naming the file for a missing or unreadable model, or an architecture it cannot export
 * @throws RegistryError for an unknown format; DiffiqaError naming `out` when it cannot be written (tfjs: a file, a
 *   folder holding other files, or a path ending in .json)
 */
export function exportRegressor(opts: ExportOptions): ExportResult {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new RegistryError('export format', opts.format, EXPORT_FORMATS);
  if (opts.format === 'tfjs' && /\.json$/i.test(opts.out)) {
    throw new DiffiqaError(`--out for tfjs names the model folder (model.json and the weight shards go inside it), got '${opts.out}'`, 'E_USAGE');
  }
  const { model, meta, file } = loadRegressorWeights(opts.model ?? shippedModelPath('ediffiqa'));
  try {
    const graph = describeRegressorGraph(model, file);
    const version = diffiqaVersion();
    const provenance: ExportProvenance = {
      model: describeSpec(model.spec),
      spec: model.spec,
      source: path.basename(file),
      sourceSha256: sha256File(file),
      labels: meta.labels,
      info: meta.info,
      exporter: `diffiqa ${version} export`,
      transforms: 'BatchNorm folded into the adjacent conv/dense weights (a BN before a padded conv kept as a per-channel multiply-add)',
    };
    if (opts.format === 'tfjs') {
      const contract = exportContract('NHWC');
      const files = toTfjsGraphModel(graph, { metadata: { diffiqa: { contract, provenance } }, generatedBy: `diffiqa ${version}` });
      writeFolderAtomic(opts.out, files, isTfjsModelFolder);
      const bytes = [...files.values()].reduce((n, d) => n + (typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength), 0);
      return { format: 'tfjs', out: opts.out, files: [...files.keys()], bytes, model: provenance.model, source: file };
    }
    const contract = exportContract('NCHW');
    const bytes = toOnnxModel(graph, {
      metadata: { 'diffiqa.contract': JSON.stringify(contract), 'diffiqa.provenance': JSON.stringify(provenance) },
      producerVersion: version,
      docString: `diffiqa ${provenance.model} face image quality regressor: ${oneLine(contract)}`,
    });
    writeFileAtomic(opts.out, bytes);
    return { format: 'onnx', out: opts.out, files: [path.basename(opts.out)], bytes: bytes.byteLength, model: provenance.model, source: file };
  } finally {
    model.dispose();
  }
}
