/**
 * `dlib` (src/fr/dlib.ts) against an independent float64 reference on real aligned LFW faces
 * (../shared/data/lfw-112; skipped with a message when absent).
 *
 * The reference shares no code with src/fr: it parses face-api's weight manifest and dequantises the uint8 shard
 * itself (value = min + scale * byte, tfjs's affine rule), cuts the 150x150 chip from the 112 crop with a bilinear
 * loop over the box documented in src/fr/dlib.ts (y 23..117, x 9..103 in pixel units, black outside), and runs the
 * network as loops written from face-api's own FaceRecognitionNet (src/faceRecognitionNet/*.ts in the package):
 * conv7x7 s2 valid -> +bias -> *scale +shift -> ReLU -> maxpool 3 s2 -> residual units (conv3x3 'same') with
 * "down" units (conv 3x3 s2 valid; avgpool 2 s2 shortcut with zero channels appended, one zero row and column
 * appended to the conv branch when the sizes differ) -> global mean -> fc. The model under test runs on `native`
 * when the addon is built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tf } from '../../src/backend/tf.js';
import { loadFrModel } from '../../src/fr/registry.js';
import type { FrModel } from '../../src/fr/types.js';

const BACKEND = tf.findBackendFactory('native') !== null ? 'native' : 'cpu';
const lfwRoot = fileURLToPath(new URL('../../../shared/data/lfw-112', import.meta.url));
const lfwPresent = existsSync(join(lfwRoot, 'pairs.txt'));
if (!lfwPresent) console.warn(`SKIP dlib reference check: ${lfwRoot} not found`);

/** Four faces: the first mated and the first non-mated pair of LFW View-2 fold 1. */
const FACES = [
  'Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'Abel_Pacheco/Abel_Pacheco_0004.jpg',
  'Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg',
  'Dean_Barker/Dean_Barker_0001.jpg',
];

// ---- weights, read without src/fr/tfjs-weights.ts or tf.io ----

interface F64 {
  shape: number[];
  data: Float64Array;
}

/** Every weight of a tfjs weights manifest as float64; handles float32 and uint8-quantised entries. */
function readManifest(file: string): Map<string, F64> {
  const groups = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale: number; min: number } }[];
  }[];
  const out = new Map<string, F64>();
  for (const g of groups) {
    const bytes = Buffer.concat(g.paths.map((p) => readFileSync(join(dirname(file), p))));
    let at = 0;
    for (const w of g.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float64Array(n);
      const q = w.quantization;
      if (q) {
        if (q.dtype !== 'uint8') throw new Error(`reference reader: ${w.name} has ${q.dtype} quantisation`);
        for (let i = 0; i < n; i++) data[i] = q.min + q.scale * (bytes[at + i] as number);
        at += n;
      } else {
        if (w.dtype !== 'float32') throw new Error(`reference reader: ${w.name} is ${w.dtype}`);
        for (let i = 0; i < n; i++) data[i] = bytes.readFloatLE(at + 4 * i);
        at += 4 * n;
      }
      out.set(w.name, { shape: w.shape, data });
    }
    expect(at, `${file}: bytes used by the weights`).toBe(bytes.length);
  }
  return out;
}

// ---- float64 layers on one image, HWC ----

interface Fmap {
  h: number;
  w: number;
  c: number;
  data: Float64Array;
}

function weight(ws: ReadonlyMap<string, F64>, name: string): F64 {
  const t = ws.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return t;
}

/** conv (filters [k,k,inC,outC]) + bias, then the scale layer (x * weights + biases), then optionally ReLU. */
function convLayer(x: Fmap, ws: ReadonlyMap<string, F64>, prefix: string, stride: number, pad: 'same' | 'valid', relu: boolean): Fmap {
  const f = weight(ws, `${prefix}/conv/filters`);
  const [k, , inC, outC] = f.shape as [number, number, number, number];
  expect(inC).toBe(x.c);
  const bias = weight(ws, `${prefix}/conv/bias`).data;
  const scale = weight(ws, `${prefix}/scale/weights`).data;
  const shift = weight(ws, `${prefix}/scale/biases`).data;
  // tfjs 'same': out = ceil(in / stride), the odd padding pixel goes after; 'valid': no padding.
  const outH = pad === 'same' ? Math.ceil(x.h / stride) : Math.floor((x.h - k) / stride) + 1;
  const outW = pad === 'same' ? Math.ceil(x.w / stride) : Math.floor((x.w - k) / stride) + 1;
  const top = pad === 'same' ? Math.floor(Math.max(0, (outH - 1) * stride + k - x.h) / 2) : 0;
  const left = pad === 'same' ? Math.floor(Math.max(0, (outW - 1) * stride + k - x.w) / 2) : 0;
  const y = new Float64Array(outH * outW * outC);
  const acc = new Float64Array(outC);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      acc.fill(0);
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride - top + ky;
        if (iy < 0 || iy >= x.h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox * stride - left + kx;
          if (ix < 0 || ix >= x.w) continue;
          const xBase = (iy * x.w + ix) * inC;
          const wBase = (ky * k + kx) * inC * outC;
          for (let ci = 0; ci < inC; ci++) {
            const xv = x.data[xBase + ci] as number;
            const wRow = wBase + ci * outC;
            for (let co = 0; co < outC; co++) acc[co] += xv * (f.data[wRow + co] as number);
          }
        }
      }
      const base = (oy * outW + ox) * outC;
      for (let co = 0; co < outC; co++) {
        const v = ((acc[co] as number) + (bias[co] as number)) * (scale[co] as number) + (shift[co] as number);
        y[base + co] = relu ? Math.max(0, v) : v;
      }
    }
  }
  return { h: outH, w: outW, c: outC, data: y };
}

/** Max or average pooling, 'valid'. */
function pool(x: Fmap, size: number, stride: number, kind: 'max' | 'avg'): Fmap {
  const h = Math.floor((x.h - size) / stride) + 1;
  const w = Math.floor((x.w - size) / stride) + 1;
  const y = new Float64Array(h * w * x.c);
  for (let oy = 0; oy < h; oy++) {
    for (let ox = 0; ox < w; ox++) {
      for (let c = 0; c < x.c; c++) {
        let acc = kind === 'max' ? -Infinity : 0;
        for (let py = 0; py < size; py++) {
          for (let px = 0; px < size; px++) {
            const v = x.data[((oy * stride + py) * x.w + ox * stride + px) * x.c + c] as number;
            acc = kind === 'max' ? Math.max(acc, v) : acc + v;
          }
        }
        y[(oy * w + ox) * x.c + c] = kind === 'max' ? acc : acc / (size * size);
      }
    }
  }
  return { h, w, c: x.c, data: y };
}

/** x zero-extended to [h,w,c] (rows, columns and channels appended at the end). */
function zeroExtend(x: Fmap, h: number, w: number, c: number): Fmap {
  const y = new Float64Array(h * w * c);
  for (let i = 0; i < x.h; i++) for (let j = 0; j < x.w; j++) for (let k = 0; k < x.c; k++) y[(i * w + j) * c + k] = x.data[(i * x.w + j) * x.c + k] as number;
  return { h, w, c, data: y };
}

/** ReLU(a + b). */
function addRelu(a: Fmap, b: Fmap): Fmap {
  expect([a.h, a.w, a.c]).toEqual([b.h, b.w, b.c]);
  return { ...a, data: a.data.map((v, i) => Math.max(0, v + (b.data[i] as number))) };
}

function residual(x: Fmap, ws: ReadonlyMap<string, F64>, name: string): Fmap {
  const y = convLayer(convLayer(x, ws, `${name}/conv1`, 1, 'same', true), ws, `${name}/conv2`, 1, 'same', false);
  return addRelu(y, x);
}

function residualDown(x: Fmap, ws: ReadonlyMap<string, F64>, name: string): Fmap {
  let y = convLayer(convLayer(x, ws, `${name}/conv1`, 2, 'valid', true), ws, `${name}/conv2`, 1, 'same', false);
  const pooled = pool(x, 2, 2, 'avg');
  // face-api's residualDown: concat one zero row and one zero column when the sizes differ.
  if (pooled.h !== y.h || pooled.w !== y.w) y = zeroExtend(y, y.h + 1, y.w + 1, y.c);
  return addRelu(zeroExtend(pooled, pooled.h, pooled.w, y.c), y);
}

/** The 150x150 chip (0..255) of a 112x112 RGB [0,1] crop: bilinear samples of the box y 23..117, x 9..103. */
function chipOf(img: Float64Array): Fmap {
  const n = 150;
  const y0 = 23;
  const x0 = 9;
  const step = (117 - 23) / (n - 1);
  const out = new Float64Array(n * n * 3);
  const px = (r: number, c: number, ch: number): number => img[(r * 112 + c) * 3 + ch] as number;
  for (let i = 0; i < n; i++) {
    const sy = y0 + i * step;
    if (sy > 111) continue; // below the crop: black
    const ty = Math.floor(sy);
    const by = Math.ceil(sy);
    const fy = sy - ty;
    for (let j = 0; j < n; j++) {
      const sx = x0 + j * step;
      const tx = Math.floor(sx);
      const bx = Math.ceil(sx);
      const fx = sx - tx;
      for (let ch = 0; ch < 3; ch++) {
        const top = px(ty, tx, ch) + (px(ty, bx, ch) - px(ty, tx, ch)) * fx;
        const bottom = px(by, tx, ch) + (px(by, bx, ch) - px(by, tx, ch)) * fx;
        out[(i * n + j) * 3 + ch] = 255 * (top + (bottom - top) * fy);
      }
    }
  }
  return { h: n, w: n, c: 3, data: out };
}

const MEAN_RGB = [122.782, 117.001, 104.298];
const DOWN = new Set(['conv64_down', 'conv128_down', 'conv256_down', 'conv256_down_out']);
const UNITS = [
  ...['conv32_1', 'conv32_2', 'conv32_3'],
  ...['conv64_down', 'conv64_1', 'conv64_2', 'conv64_3'],
  ...['conv128_down', 'conv128_1', 'conv128_2'],
  ...['conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out'],
];

/** The 128-d descriptor of one 112x112 RGB [0,1] crop, in float64. */
function referenceEmbedding(ws: ReadonlyMap<string, F64>, img: Float64Array): Float64Array {
  const chip = chipOf(img);
  const x: Fmap = { ...chip, data: chip.data.map((v, i) => (v - (MEAN_RGB[i % 3] as number)) / 255) };
  let h = pool(convLayer(x, ws, 'conv32_down', 2, 'valid', true), 3, 2, 'max');
  for (const name of UNITS) h = DOWN.has(name) ? residualDown(h, ws, name) : residual(h, ws, name);
  const fc = weight(ws, 'fc');
  const [inD, outD] = fc.shape as [number, number];
  expect(inD).toBe(h.c);
  const mean = new Float64Array(h.c);
  for (let p = 0; p < h.h * h.w; p++) for (let c = 0; c < h.c; c++) mean[c] += (h.data[p * h.c + c] as number) / (h.h * h.w);
  const e = new Float64Array(outD);
  for (let i = 0; i < inD; i++) for (let o = 0; o < outD; o++) e[o] += (mean[i] as number) * (fc.data[i * outD + o] as number);
  return e;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** A 112x112 JPEG as RGB [0,1], decoded by sharp directly (not src/data). */
async function readFace(file: string): Promise<Float64Array> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([112, 112, 3]);
  return Float64Array.from(data, (v) => v / 255);
}

describe.skipIf(!lfwPresent)(`dlib (${BACKEND} backend) against a float64 reference on LFW faces`, () => {
  let fr: FrModel;
  beforeAll(async () => {
    await tf.setBackend(BACKEND);
    fr = await loadFrModel('dlib');
  });
  afterAll(async () => {
    fr?.dispose();
    await tf.setBackend('cpu');
  });

  it('embeddings agree: cosine > 0.9999 and max |diff| < 1e-4 per face', async () => {
    const faceApi = dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'));
    const ws = readManifest(join(faceApi, 'model/face_recognition_model-weights_manifest.json'));
    const faces = await Promise.all(FACES.map((f) => readFace(join(lfwRoot, 'images', f))));
    const batch = tf.tensor4d(Float32Array.from(faces.flatMap((f) => Array.from(f))), [faces.length, 112, 112, 3]);
    const out = fr.embed(batch);
    const got = out.dataSync() as Float32Array;
    tf.dispose([batch, out]);
    faces.forEach((img, i) => {
      const want = referenceEmbedding(ws, img);
      const e = got.subarray(i * 128, (i + 1) * 128);
      const cos = cosine(e, want);
      const maxAbs = want.reduce((m, v, j) => Math.max(m, Math.abs(v - (e[j] as number))), 0);
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(`dlib ${FACES[i]}: cosine ${cos.toFixed(9)} (1 - cosine ${(1 - cos).toExponential(1)}), max |diff| ${maxAbs.toExponential(2)} (max |ref| ${scale.toFixed(3)})`);
      expect(cos).toBeGreaterThan(0.9999);
      // float32 against float64: measured 2.6e-7..3.3e-7 on `native` (max |ref| 0.37..0.48).
      expect(maxAbs).toBeLessThan(1e-4);
    });
  });
});
