/**
 * Face detection with face-api's SSD MobileNet v1 weights (model/ssd_mobilenetv1_model*): the forward pass and box
 * decoding written here with our tf (face-api's JS is never imported). This module reads no files: Node loads the
 * weights in detect.ts, the browser scorer (src/serve/page) fetches the same files, and both run this code.
 *
 * Pipeline: pad the image to a square at the bottom/right, resize to 512 (bilinear), scale to [-1,1];
 * MobileNet v1 (conv3x3 s2 + 13 depthwise/pointwise pairs, BN eps 1e-3 folded at load, ReLU6, TF 'same'
 * padding, stride 2 at pairs 2/4/6/12); 8 extra pointwise layers; 6 box predictors on pair 11, pair 13 and
 * extra layers 1/3/5/7 (5118 anchors, the `Output/extra_dim` weight); box decoding with variances
 * (10, 10, 5, 5); score = sigmoid(class 1); greedy NMS (IoU 0.5).
 */
import { tf } from '../backend/tf.js';
import type { RgbImage } from '../data/image.js';
import type { HostTensor } from '../nn/params.js';
import { takeWeight } from './weight-manifest.js';

/** A detected face in image pixels (x right, y down). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

/** Options of `detectFaces`. */
export interface DetectOptions {
  /** Minimum score. Default 0.5 (face-api's default). */
  minConfidence?: number;
  /** Maximum faces returned. Default 100. */
  maxResults?: number;
  /** NMS IoU threshold. Default 0.5. */
  iouThreshold?: number;
}

const INPUT = 512;
const BN_EPS = 0.0010000000474974513;


/** The loaded detector; `dispose()` frees its weights. */
export interface FaceDetector {
  detect(img: RgbImage, opts?: DetectOptions): FaceBox[];
  dispose(): void;
}

type Named = Map<string, tf.Tensor>;

function toTensors(w: ReadonlyMap<string, HostTensor>, src: string): Named {
  takeWeight(w, 'Output/extra_dim', 3, src); // the anchors: fail early, naming the file, when absent
  const out: Named = new Map();
  for (const [k, v] of w) out.set(k, tf.tensor(v.data, v.shape, 'float32'));
  return out;
}

function get(t: Named, name: string): tf.Tensor {
  const v = t.get(name);
  if (!v) throw new Error(`ssd weights lack '${name}'`);
  return v;
}

/** Folds the depthwise BatchNorm into a per-channel scale and offset (eval mode). */
function foldDepthwiseBn(t: Named): void {
  for (let i = 1; i <= 13; i++) {
    const p = `MobilenetV1/Conv2d_${i}_depthwise/BatchNorm`;
    const scale = tf.tidy(() => tf.div(get(t, `${p}/gamma`), tf.sqrt(tf.add(get(t, `${p}/moving_variance`), BN_EPS))));
    const offset = tf.tidy(() => tf.sub(get(t, `${p}/beta`), tf.mul(get(t, `${p}/moving_mean`), scale)));
    t.set(`${p}/scale`, scale);
    t.set(`${p}/offset`, offset);
  }
}

function pointwise(t: Named, prefix: string, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const y = tf.conv2d(x, get(t, `${prefix}/weights`) as tf.Tensor4D, stride, 'same');
  return tf.clipByValue(tf.add(y, get(t, `${prefix}/convolution_bn_offset`)), 0, 6) as tf.Tensor4D;
}

function depthwise(t: Named, i: number, x: tf.Tensor4D): tf.Tensor4D {
  const p = `MobilenetV1/Conv2d_${i}_depthwise`;
  const stride = [2, 4, 6, 12].includes(i) ? 2 : 1;
  const y = tf.depthwiseConv2d(x, get(t, `${p}/depthwise_weights`) as tf.Tensor4D, stride, 'same');
  return tf.clipByValue(tf.add(tf.mul(y, get(t, `${p}/BatchNorm/scale`)), get(t, `${p}/BatchNorm/offset`)), 0, 6) as tf.Tensor4D;
}

function predictor(t: Named, i: number, x: tf.Tensor4D): [tf.Tensor, tf.Tensor] {
  const conv = (kind: string): tf.Tensor4D => {
    const p = `Prediction/BoxPredictor_${i}/${kind}`;
    return tf.add(tf.conv2d(x, get(t, `${p}/weights`) as tf.Tensor4D, 1, 'same'), get(t, `${p}/biases`)) as tf.Tensor4D;
  };
  return [tf.reshape(conv('BoxEncodingPredictor'), [-1, 4]), tf.reshape(conv('ClassPredictor'), [-1, 3])];
}

/** Raw network outputs for one [1,512,512,3] input in [-1,1]: decoded boxes [N,4] (y0,x0,y1,x1 in [0,1]) and scores [N]. */
export function ssdForward(t: Named, x: tf.Tensor4D): { boxes: tf.Tensor2D; scores: tf.Tensor1D } {
  return tf.tidy(() => {
    let h = pointwise(t, 'MobilenetV1/Conv2d_0_pointwise', x, 2);
    let conv11: tf.Tensor4D = h;
    for (let i = 1; i <= 13; i++) {
      h = pointwise(t, `MobilenetV1/Conv2d_${i}_pointwise`, depthwise(t, i, h), 1);
      if (i === 11) conv11 = h;
    }
    const extra: tf.Tensor4D[] = [];
    let e = h;
    for (let i = 0; i < 8; i++) {
      e = pointwise(t, `Prediction/Conv2d_${i}_pointwise`, e, i % 2 === 1 ? 2 : 1);
      extra.push(e);
    }
    const sources = [conv11, h, extra[1], extra[3], extra[5], extra[7]] as tf.Tensor4D[];
    const preds = sources.map((s, i) => predictor(t, i, s));
    const enc = tf.concat(preds.map((p) => p[0]), 0);
    const cls = tf.concat(preds.map((p) => p[1]), 0);
    const anchors = tf.reshape(get(t, 'Output/extra_dim'), [-1, 4]);
    return { boxes: decodeBoxes(anchors as tf.Tensor2D, enc as tf.Tensor2D), scores: tf.sigmoid(tf.slice(cls, [0, 1], [-1, 1])).reshape([-1]) as tf.Tensor1D };
  });
}

/** SSD box decoding: anchors and encodings [N,4] as (y, x, h, w) with variances 10, 10, 5, 5. */
function decodeBoxes(anchors: tf.Tensor2D, enc: tf.Tensor2D): tf.Tensor2D {
  const [ay0, ax0, ay1, ax1] = tf.unstack(anchors, 1) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  const [ty, tx, th, tw] = tf.unstack(enc, 1) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  const ah = tf.sub(ay1, ay0);
  const aw = tf.sub(ax1, ax0);
  const cy = tf.add(tf.mul(tf.div(ty, 10), ah), tf.add(ay0, tf.div(ah, 2)));
  const cx = tf.add(tf.mul(tf.div(tx, 10), aw), tf.add(ax0, tf.div(aw, 2)));
  const hh = tf.div(tf.mul(tf.exp(tf.div(th, 5)), ah), 2);
  const hw = tf.div(tf.mul(tf.exp(tf.div(tw, 5)), aw), 2);
  return tf.stack([tf.sub(cy, hh), tf.sub(cx, hw), tf.add(cy, hh), tf.add(cx, hw)], 1) as tf.Tensor2D;
}

/** Pads an image tensor [1,H,W,3] to a square at the bottom/right and resizes it to `size`. */
export function padResizeBottomRight(img: RgbImage, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const side = Math.max(img.width, img.height);
    const x = tf.tensor4d(img.data, [1, img.height, img.width, 3]);
    const sq = tf.pad(x, [[0, 0], [0, side - img.height], [0, side - img.width], [0, 0]]);
    return side === size ? sq : tf.image.resizeBilinear(sq, [size, size], false, false);
  });
}

/**
 * The SSD MobileNet v1 face detector from its decoded weights (as `readWeightManifest` or `decodeToHost` return
 * them); `source` names their file in errors.
 * @throws CheckpointError naming `source` when the anchors (`Output/extra_dim`) are missing
 */
export function createFaceDetector(weights: ReadonlyMap<string, HostTensor>, source: string): FaceDetector {
  const t = toTensors(weights, source);
  foldDepthwiseBn(t);
  return {
    detect: (img, opts = {}) => {
      const x = tf.tidy(() => tf.sub(tf.mul(padResizeBottomRight(img, INPUT), 2), 1) as tf.Tensor4D);
      const { boxes, scores } = ssdForward(t, x);
      const keep = tf.image.nonMaxSuppression(boxes, scores, opts.maxResults ?? 100, opts.iouThreshold ?? 0.5, opts.minConfidence ?? 0.5);
      const b = boxes.arraySync();
      const s = scores.dataSync();
      const idx = Array.from(keep.dataSync());
      tf.dispose([x, boxes, scores, keep]);
      const side = Math.max(img.width, img.height);
      return idx.map((i) => {
        const [y0, x0, y1, x1] = (b[i] as number[]).map((v) => Math.min(Math.max(v, 0), 1) * side) as [number, number, number, number];
        return { x: x0, y: y0, width: Math.min(x1, img.width) - x0, height: Math.min(y1, img.height) - y0, score: s[i] as number };
      });
    },
    dispose: () => tf.dispose([...t.values()]),
  };
}
