/**
 * 68-point face landmarks with face-api's FaceLandmark68Net weights (model/face_landmark_68_model*), forward pass
 * written here with our tf. This module reads no files: Node loads the weights in landmarks.ts, the browser scorer
 * (src/serve/page) fetches the same files, and both run this code. The crop (a detection box) is zero-padded to a
 * centred square, resized to 112, mean-subtracted and scaled by 1/255; four "dense blocks" of separable
 * convolutions (the first starts with a plain 3x3 s2 conv), avgpool 7x7 s2 'valid', then fc 256 -> 136 gives (x,y)
 * pairs relative to the padded square.
 */
import { tf } from '../backend/tf.js';
import type { RgbImage } from '../data/image.js';
import type { HostTensor } from '../nn/params.js';
import type { Point } from './similarity.js';
import type { FaceBox } from './ssd-net.js';

const MEAN_RGB = [122.782, 117.001, 104.298] as const;
const SIZE = 112;

/** The loaded landmark net; `dispose()` frees its weights. */
export interface LandmarkNet {
  /** 68 points in image pixels for the face inside `box`. */
  detect(img: RgbImage, box: FaceBox): Point[];
  dispose(): void;
}

type Named = Map<string, tf.Tensor>;

function get(t: Named, name: string): tf.Tensor {
  const v = t.get(name);
  if (!v) throw new Error(`landmark weights lack '${name}'`);
  return v;
}

function separable(t: Named, p: string, x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const y = tf.separableConv2d(x, get(t, `${p}/depthwise_filter`) as tf.Tensor4D, get(t, `${p}/pointwise_filter`) as tf.Tensor4D, stride, 'same');
  return tf.add(y, get(t, `${p}/bias`)) as tf.Tensor4D;
}

function denseBlock(t: Named, p: string, x: tf.Tensor4D, first: boolean): tf.Tensor4D {
  const out1 = tf.relu(
    first
      ? tf.add(tf.conv2d(x, get(t, `${p}/conv0/filters`) as tf.Tensor4D, 2, 'same'), get(t, `${p}/conv0/bias`))
      : separable(t, `${p}/conv0`, x, 2),
  ) as tf.Tensor4D;
  const out2 = separable(t, `${p}/conv1`, out1, 1);
  const out3 = separable(t, `${p}/conv2`, tf.relu(tf.add(out1, out2)) as tf.Tensor4D, 1);
  const out4 = separable(t, `${p}/conv3`, tf.relu(tf.addN([out1, out2, out3])) as tf.Tensor4D, 1);
  return tf.relu(tf.addN([out1, out2, out3, out4])) as tf.Tensor4D;
}

/** Network on [B,112,112,3] RGB 0..255 -> [B,136] relative (x,y) pairs. */
export function landmarkForward(t: Named, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    let h = tf.div(tf.sub(x, tf.tensor1d([...MEAN_RGB])), 255) as tf.Tensor4D;
    for (let i = 0; i < 4; i++) h = denseBlock(t, `dense${i}`, h, i === 0);
    h = tf.avgPool(h, 7, 2, 'valid');
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return tf.add(tf.matMul(flat, get(t, 'fc/weights') as tf.Tensor2D), get(t, 'fc/bias')) as tf.Tensor2D;
  });
}

/** Integer crop of `box` clipped to the image (face-api floors the clipped box). */
export function clipBox(img: RgbImage, box: FaceBox): { x: number; y: number; w: number; h: number } {
  const x = Math.floor(Math.max(box.x, 0));
  const y = Math.floor(Math.max(box.y, 0));
  const w = Math.floor(Math.min(box.x + box.width, img.width) - x);
  const h = Math.floor(Math.min(box.y + box.height, img.height) - y);
  return { x, y, w: Math.max(w, 1), h: Math.max(h, 1) };
}

/** The 68-point landmark net from its decoded weights (as `readWeightManifest` or `decodeToHost` return them). */
export function createLandmarkNet(weights: ReadonlyMap<string, HostTensor>): LandmarkNet {
  const t: Named = new Map();
  for (const [k, v] of weights) t.set(k, tf.tensor(v.data, v.shape, 'float32'));
  return {
    detect: (img, box) => {
      const c = clipBox(img, box);
      const side = Math.max(c.w, c.h);
      const padX = Math.floor((side - c.w) / 2);
      const padY = Math.floor((side - c.h) / 2);
      const out = tf.tidy(() => {
        const full = tf.tensor3d(img.data, [img.height, img.width, 3]);
        const crop = tf.slice(full, [c.y, c.x, 0], [c.h, c.w, 3]);
        const sq = tf.pad(crop, [[padY, side - c.h - padY], [padX, side - c.w - padX], [0, 0]]);
        const x = tf.mul(tf.image.resizeBilinear(tf.expandDims(sq, 0) as tf.Tensor4D, [SIZE, SIZE], false, false), 255) as tf.Tensor4D;
        return landmarkForward(t, x);
      });
      const v = out.dataSync();
      out.dispose();
      return Array.from({ length: 68 }, (_, i) => [c.x + (v[2 * i] as number) * side - padX, c.y + (v[2 * i + 1] as number) * side - padY] as const);
    },
    dispose: () => tf.dispose([...t.values()]),
  };
}

/**
 * Reduces 68 points (iBUG/dlib order) to the 5 ArcFace points: image-left eye centre (36-41), image-right eye
 * centre (42-47), nose tip (30), mouth corners (48, 54).
 */
export function reduceTo5(pts: readonly Point[]): Point[] {
  const mean = (from: number, to: number): Point => {
    let x = 0, y = 0;
    for (let i = from; i <= to; i++) {
      x += (pts[i] as Point)[0];
      y += (pts[i] as Point)[1];
    }
    const n = to - from + 1;
    return [x / n, y / n];
  };
  return [mean(36, 41), mean(42, 47), pts[30] as Point, pts[48] as Point, pts[54] as Point];
}
