/**
 * Regressor weight files. Two formats load through `loadRegressorWeights`:
 * - our regressor file (`best.safetensors`): the state dict in PyTorch names and layouts, plus metadata holding
 *   the resolved `RegressorSpec` and the label range, so the model rebuilds without its YAML (STYLE §2.3);
 * - the authors' PyTorch state dicts, `diffiqa(r).pth` (`base.*`, `linear.*`) and `ediffiqa{T,S,M,L}.pth`
 *   (`base_model.*`, `mlp.l1.*`, `mlp.l2.*`), read without running any pickle code (src/io/torch-file.ts); their
 *   structure is inferred from the keys. Unlike upstream inference (METHOD §4.5), no separate backbone init file
 *   is needed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { getField, isTorchTensor, loadTorchFile, stateDictFrom } from '../io/torch-file.js';
import type { HostTensor } from '../nn/params.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CheckpointError } from '../util/errors.js';
import { FORMATS, checkFormatVersion, versionMetadata } from '../util/format-version.js';
import { createQualityRegressor, type QualityRegressor } from './model.js';
import { inferSpecFromStateDict, type LabelRange, type RegressorSpec } from './spec.js';

/** File format tag in the safetensors metadata. */
export const REGRESSOR_FORMAT = FORMATS.regressor.name;

/** What a regressor file holds besides the weights. */
export interface RegressorMeta {
  spec: RegressorSpec;
  /** Min-max range of the training labels (METHOD §3), or null for reference weights. */
  labels: LabelRange | null;
  /** Free-form provenance (step, validation loss, config name). */
  info: Record<string, unknown>;
}

/** A loaded regressor and what came with it. */
export interface LoadedRegressor {
  model: QualityRegressor;
  meta: RegressorMeta;
  /** The file actually read. */
  file: string;
}

/** Encodes a regressor file (state dict in PyTorch layouts + metadata, with the format version). */
export function encodeRegressorFile(model: QualityRegressor, meta: Omit<RegressorMeta, 'spec'>): Uint8Array {
  return encodeSafetensors(model.params.toTorchStateDict(), {
    format: REGRESSOR_FORMAT,
    ...versionMetadata('regressor'),
    spec: JSON.stringify(model.spec),
    labels: JSON.stringify(meta.labels),
    info: JSON.stringify(meta.info),
  });
}

/** Writes a regressor file atomically (temp + rename): a kill never leaves a half-written best model. */
export function saveRegressorFile(file: string, model: QualityRegressor, meta: Omit<RegressorMeta, 'spec'>): void {
  writeFileAtomic(file, encodeRegressorFile(model, meta));
}

function parseJsonField<T>(file: string, meta: Record<string, string>, key: string): T {
  const raw = meta[key];
  if (raw === undefined) throw new CheckpointError(file, `__metadata__.${key}`, 'missing');
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new CheckpointError(file, `__metadata__.${key}`, 'not valid JSON');
  }
}

/**
 * Reads our regressor file's state dict and metadata. A file without a format version (written before
 * versioning) is version 1.
 * @throws FormatVersionError when the file's format version is newer than this code reads
 */
export function readRegressorFile(file: string): { stateDict: Map<string, HostTensor>; meta: RegressorMeta } {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CheckpointError(file, '', `cannot read: ${(err as Error).message}`);
  }
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  if (metadata.format !== REGRESSOR_FORMAT) {
    throw new CheckpointError(file, '__metadata__.format', `expected '${REGRESSOR_FORMAT}', got '${metadata.format ?? 'nothing'}' (not a regressor file)`);
  }
  checkFormatVersion('regressor', file, metadata.formatVersion, metadata.diffiqaVersion);
  const meta: RegressorMeta = {
    spec: parseJsonField<RegressorSpec>(file, metadata, 'spec'),
    labels: parseJsonField<LabelRange | null>(file, metadata, 'labels'),
    info: parseJsonField<Record<string, unknown>>(file, metadata, 'info'),
  };
  return { stateDict: tensors, meta };
}

/**
 * Reads a reference PyTorch state dict: a plain state dict, or one under `state_dict`/`model`; a DataParallel
 * `module.` prefix on every key is stripped.
 */
export function readTorchStateDict(file: string): Map<string, HostTensor> {
  const obj = loadTorchFile(file);
  const inner = [getField(obj, 'state_dict'), getField(obj, 'model')].find((v) => v instanceof Map && [...v.values()].some(isTorchTensor));
  const sd: Map<string, HostTensor> = stateDictFrom(inner ?? obj, '', file);
  const keys = [...sd.keys()];
  if (keys.length > 0 && keys.every((k) => k.startsWith('module.'))) {
    return new Map([...sd].map(([k, v]) => [k.slice('module.'.length), v]));
  }
  return sd;
}

/** The file to read for `p`: a run folder means its `best.safetensors`. */
export function resolveRegressorPath(p: string): string {
  if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
    const best = path.join(p, 'best.safetensors');
    if (!fs.existsSync(best)) throw new CheckpointError(p, 'best.safetensors', 'run folder has no best model yet');
    return best;
  }
  if (!fs.existsSync(p)) throw new CheckpointError(p, '', 'no such file or folder');
  return p;
}

/**
 * Loads a regressor from our file (`.safetensors`, or a run folder) or a reference `.pth`/`.pt` state dict.
 * @throws CheckpointError naming the file and key for a missing, mismatched or unrecognised weight
 */
export function loadRegressorWeights(p: string, opts: { mobilefacePath?: string } = {}): LoadedRegressor {
  const file = resolveRegressorPath(p);
  let stateDict: Map<string, HostTensor>;
  let meta: RegressorMeta;
  if (/\.safetensors$/i.test(file)) {
    ({ stateDict, meta } = readRegressorFile(file));
  } else {
    stateDict = readTorchStateDict(file);
    meta = { spec: inferSpecFromStateDict(stateDict, file), labels: null, info: { source: path.basename(file) } };
  }
  const model = createQualityRegressor(meta.spec, { mobilefacePath: opts.mobilefacePath });
  try {
    model.params.loadTorchStateDict(stateDict, file);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, meta, file };
}
