/**
 * `dlib`: the 128-d dlib face-recognition ResNet (ResNet-29-like, 150x150 input) as shipped by
 * @vladmandic/face-api (model/face_recognition_model-weights_manifest.json + .bin). The weights are read
 * from the manifest and the forward pass is our own, with our tf; face-api's JS (and its bundled tfjs)
 * is never imported.
 *
 * Network: (x*255 - meanRgb)/255 -> conv7x7 s2 'valid' (+bias, per-channel scale, ReLU) -> maxpool 3 s2
 * -> residual stages 32x3, 64 (down + 3), 128 (down + 2), 256 (down + 2), 256 down -> global mean -> fc.
 * A residual unit is conv3x3 'same' -> scale -> ReLU -> conv3x3 'same' -> scale, + x, ReLU. A "down" unit
 * starts with a 3x3 stride-2 'valid' conv; its shortcut is avgpool 2x2 s2 with zero channels appended,
 * and the conv branch gets a zero row/column appended when the two spatial sizes differ.
 *
 * Input convention: dlib computes descriptors on 150x150 "chips" cut with its own 68-point alignment and
 * 25 % padding. Our common input is the 112x112 ArcFace-aligned crop. By default (`dlib-geometry`) we cut
 * from it the box that approximates dlib's chip on the ArcFace template and resize that to 150 (bilinear);
 * `resize` scales the whole crop instead. Measured with bench/fr.ts: full LFW 10-fold 0.9913 with
 * `dlib-geometry` (dlib reports 0.9938 with its own chips); on LFW folds 1-2 (200 pairs each) 0.985 vs
 * 0.8675 with `resize` (shared/data README: 0.87 for a plain upscale over all 6,000 pairs).
 */
import { tf } from '../backend/tf.js';
import type { HostTensor } from '../nn/params.js';
import { packageFile, readWeightManifest, takeWeight } from './tfjs-weights.js';
import type { FrModel } from './types.js';

const MEAN_RGB = [122.782, 117.001, 104.298] as const;
const CHIP = 150;

/** Default manifest path inside @vladmandic/face-api. */
export function defaultDlibManifest(): string {
  return packageFile('@vladmandic/face-api', 'model/face_recognition_model-weights_manifest.json');
}

interface ConvUnit {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
  scale: tf.Tensor1D;
  shift: tf.Tensor1D;
}

/** Residual stages in order: [prefix, isDown]. */
const UNITS: readonly [string, boolean][] = [
  ['conv32_1', false], ['conv32_2', false], ['conv32_3', false],
  ['conv64_down', true], ['conv64_1', false], ['conv64_2', false], ['conv64_3', false],
  ['conv128_down', true], ['conv128_1', false], ['conv128_2', false],
  ['conv256_down', true], ['conv256_1', false], ['conv256_2', false], ['conv256_down_out', true],
];

/** The decoded weights of the dlib network. */
export interface DlibWeights {
  stem: ConvUnit;
  units: Map<string, [ConvUnit, ConvUnit]>;
  fc: tf.Tensor2D;
}

function convUnit(w: ReadonlyMap<string, HostTensor>, prefix: string, src: string): ConvUnit {
  const t = (name: string, rank: number): tf.Tensor => {
    const h = takeWeight(w, `${prefix}/${name}`, rank, src);
    return tf.tensor(h.data, h.shape, 'float32');
  };
  return {
    filters: t('conv/filters', 4) as tf.Tensor4D,
    bias: t('conv/bias', 1) as tf.Tensor1D,
    scale: t('scale/weights', 1) as tf.Tensor1D,
    shift: t('scale/biases', 1) as tf.Tensor1D,
  };
}

/** Reads the face-api dlib weight manifest into tensors (call disposeDlibWeights when done). */
export function loadDlibWeights(manifest = defaultDlibManifest()): DlibWeights {
  const w = readWeightManifest(manifest);
  const units = new Map<string, [ConvUnit, ConvUnit]>();
  for (const [name] of UNITS) units.set(name, [convUnit(w, `${name}/conv1`, manifest), convUnit(w, `${name}/conv2`, manifest)]);
  const fc = takeWeight(w, 'fc', 2, manifest);
  return { stem: convUnit(w, 'conv32_down', manifest), units, fc: tf.tensor2d(fc.data, fc.shape as [number, number]) };
}

export function disposeDlibWeights(w: DlibWeights): void {
  const all: tf.Tensor[] = [w.fc, ...Object.values(w.stem)];
  for (const [a, b] of w.units.values()) all.push(...Object.values(a), ...Object.values(b));
  tf.dispose(all);
}

function conv(x: tf.Tensor4D, u: ConvUnit, stride: number, pad: 'same' | 'valid', relu: boolean): tf.Tensor4D {
  const y = tf.add(tf.mul(tf.add(tf.conv2d(x, u.filters, stride, pad), u.bias), u.scale), u.shift) as tf.Tensor4D;
  return relu ? tf.relu(y) : y;
}

function residual(x: tf.Tensor4D, [c1, c2]: [ConvUnit, ConvUnit]): tf.Tensor4D {
  const y = conv(conv(x, c1, 1, 'same', true), c2, 1, 'same', false);
  return tf.relu(tf.add(y, x)) as tf.Tensor4D;
}

function residualDown(x: tf.Tensor4D, [c1, c2]: [ConvUnit, ConvUnit]): tf.Tensor4D {
  let y = conv(conv(x, c1, 2, 'valid', true), c2, 1, 'same', false);
  let pooled = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
  if (pooled.shape[1] !== y.shape[1] || pooled.shape[2] !== y.shape[2]) {
    // The strided 'valid' conv is one short on odd sizes: append a zero row and column (as face-api).
    y = tf.pad(y, [[0, 0], [0, (pooled.shape[1] as number) - (y.shape[1] as number)], [0, (pooled.shape[2] as number) - (y.shape[2] as number)], [0, 0]]);
  }
  if (pooled.shape[3] !== y.shape[3]) {
    pooled = tf.pad(pooled, [[0, 0], [0, 0], [0, 0], [0, (y.shape[3] as number) - (pooled.shape[3] as number)]]);
  }
  return tf.relu(tf.add(pooled, y)) as tf.Tensor4D;
}

/** dlib forward pass on chips [B,150,150,3] RGB 0..255 -> [B,128]. */
export function dlibForward(w: DlibWeights, chips: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.div(tf.sub(chips, tf.tensor1d([...MEAN_RGB])), 255) as tf.Tensor4D;
    let h = conv(x, w.stem, 2, 'valid', true);
    h = tf.maxPool(h, 3, 2, 'valid');
    for (const [name, down] of UNITS) {
      const u = w.units.get(name) as [ConvUnit, ConvUnit];
      h = down ? residualDown(h, u) : residual(h, u);
    }
    return tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, w.fc);
  });
}

/**
 * How a 112x112 ArcFace crop becomes a 150x150 chip: `resize` scales the whole crop; `dlib-geometry` cuts the
 * box [x0,y0,x1,y1] = [9,23,103,117] (112-px units; outside the crop is black) that approximates where dlib's
 * chip (51 inner landmarks + 25 % padding) falls on the ArcFace template: scale ~1.6, centred ~14 px lower.
 */
export type DlibChip = 'resize' | 'dlib-geometry';

const DLIB_GEOMETRY_BOX = [23 / 111, 9 / 111, 117 / 111, 103 / 111] as const; // y0, x0, y1, x1 (cropAndResize)

/** Loads the `dlib` FR model: 112x112 [0,1] crops become 150x150 chips (see the file comment and DlibChip). */
export function loadDlib(manifest = defaultDlibManifest(), chip: DlibChip = 'dlib-geometry'): FrModel {
  const w = loadDlibWeights(manifest);
  return {
    name: 'dlib',
    inputSize: 112,
    embeddingDim: 128,
    embed: (batch) =>
      tf.tidy(() => {
        const b = batch.shape[0];
        const resized =
          chip === 'resize'
            ? tf.image.resizeBilinear(batch, [CHIP, CHIP], false, false)
            : tf.image.cropAndResize(batch, tf.tensor2d(Array.from({ length: b }, () => [...DLIB_GEOMETRY_BOX])), tf.range(0, b, 1, 'int32') as tf.Tensor1D, [CHIP, CHIP], 'bilinear', 0);
        const chips = tf.mul(resized, 255) as tf.Tensor4D;
        return dlibForward(w, chips);
      }),
    dispose: () => disposeDlibWeights(w),
  };
}
