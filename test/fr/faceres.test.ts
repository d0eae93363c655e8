/**
 * `faceres` (src/fr/faceres.ts) against independent references: the preprocessing against a float64 JS loop, the
 * wrapper's embedding against the graph model loaded straight from the package files by tfjs-converter and fed that
 * loop's output, and (when ../shared/data/lfw-112 exists) mated vs non-mated LFW pairs.
 *
 * A 224-px MobileNet costs about 2 s per image on the pure-JS cpu backend and about 0.25 s on `native` (2 busy cores),
 * so the file runs on `native` when its addon is built and keeps to a few images either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfconv from '@tensorflow/tfjs-converter';
import { tf } from '../../src/backend/tf.js';
import { loadLfwPairs } from '../../src/eval/inputs.js';
import { embedImages } from '../../src/fr/embed.js';
import { defaultFaceresPath, faceresInput, loadFaceresGraph } from '../../src/fr/faceres.js';
import { defaultMobilefacePath } from '../../src/fr/mobileface-graph.js';
import { FR_MODEL_NAMES, loadFrModel } from '../../src/fr/registry.js';
import type { FrModel } from '../../src/fr/types.js';
import { cosineSimilarity } from '../../src/fr/verification.js';
import { CheckpointError } from '../../src/util/errors.js';
import { maxRelError } from './fixture.js';

const BACKEND = tf.findBackendFactory('native') !== null ? 'native' : 'cpu';
const lfwRoot = fileURLToPath(new URL('../../../shared/data/lfw-112', import.meta.url));
const lfwPresent = existsSync(join(lfwRoot, 'pairs.txt'));
if (!lfwPresent) console.warn(`SKIP faceres LFW pairs: ${lfwRoot} not found`);

/**
 * The reference preprocessing, written out: [B,112,112,3] RGB [0,1] -> [B,224,224,3] BGR*255 - mean, in float64.
 * Bilinear as tf.image.resizeBilinear with its defaults: source coordinate = dst * in/out (no half-pixel centres),
 * floor and floor+1 clamped to the last row/column.
 */
function referenceInput(src: ArrayLike<number>, batch: number, inSize = 112, outSize = 224): Float64Array {
  const mean = [103.939, 116.779, 123.68]; // B, G, R
  const out = new Float64Array(batch * outSize * outSize * 3);
  const scale = inSize / outSize;
  const at = (b: number, y: number, x: number, c: number): number => src[((b * inSize + y) * inSize + x) * 3 + c] as number;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < outSize; y++) {
      const sy = y * scale;
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, inSize - 1);
      const fy = sy - y0;
      for (let x = 0; x < outSize; x++) {
        const sx = x * scale;
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, inSize - 1);
        const fx = sx - x0;
        for (let c = 0; c < 3; c++) {
          const rgb = 2 - c; // output channel c (B, G, R) reads input channel 2 - c (R, G, B)
          const top = at(b, y0, x0, rgb) * (1 - fx) + at(b, y0, x1, rgb) * fx;
          const bottom = at(b, y1, x0, rgb) * (1 - fx) + at(b, y1, x1, rgb) * fx;
          out[((b * outSize + y) * outSize + x) * 3 + c] = (top * (1 - fy) + bottom * fy) * 255 - (mean[c] as number);
        }
      }
    }
  }
  return out;
}

/** The faceres graph loaded from the package files with tfjs's own in-memory handler (no project loader code). */
async function loadGraphDirectly(): Promise<tfconv.GraphModel> {
  const file = defaultFaceresPath();
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(file), p)))));
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tfconv.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data }));
}

/** Seeded [n,112,112,3] data in [0,1]. */
function randomFaces(n: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, 112, 112, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describe(`faceres (${BACKEND} backend)`, () => {
  let fr: FrModel;
  beforeAll(async () => {
    await tf.setBackend(BACKEND);
    fr = await loadFrModel('faceres');
  });
  afterAll(async () => {
    fr?.dispose();
    await tf.setBackend('cpu');
  });

  it('is registered: 1024-d embeddings of [B,112,112,3], no leaked tensors', () => {
    expect(FR_MODEL_NAMES).toContain('faceres');
    expect(fr.name).toBe('faceres');
    expect(fr.inputSize).toBe(112);
    expect(fr.embeddingDim).toBe(1024);
    const x = randomFaces(1, 1);
    const before = tf.memory().numTensors;
    const e = fr.embed(x);
    expect(e.shape).toEqual([1, 1024]);
    e.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('preprocessing: 112 px RGB [0,1] -> 224 px BGR 0..255 minus the mean, element-wise as a float64 loop', () => {
    const x = randomFaces(2, 2);
    const got = faceresInput(x);
    expect(got.shape).toEqual([2, 224, 224, 3]);
    const want = referenceInput(x.dataSync(), 2);
    const g = got.dataSync();
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs((g[i] as number) - (want[i] as number)));
    console.log(`faceres preprocessing: max |float32 - float64| = ${maxErr.toExponential(2)}`);
    expect(maxErr).toBeLessThan(1e-3); // float32 rounding of values up to ~150
    tf.dispose([x, got]);
    // Channel order spelled out: pure red is R = 255 in the last (R) channel and 0 in the first (B) one.
    const red = tf.tidy(() => faceresInput(tf.tile(tf.tensor4d([1, 0, 0], [1, 1, 1, 3]), [1, 112, 112, 1])));
    expect(Array.from(red.dataSync().slice(0, 3))).toEqual([expect.closeTo(-103.939, 3), expect.closeTo(-116.779, 3), expect.closeTo(255 - 123.68, 3)]);
    red.dispose();
  });

  it('embed equals the graph model executed directly on the plain-JS preprocessing (1e-4 relative)', async () => {
    const graph = await loadGraphDirectly();
    try {
      const x = randomFaces(2, 3);
      const input = tf.tensor4d(Float32Array.from(referenceInput(x.dataSync(), 2)), [2, 224, 224, 3]);
      const want = graph.execute(input, 'global_pooling/Mean') as tf.Tensor;
      const got = fr.embed(x);
      expect(want.shape).toEqual([2, 1024]);
      const w = want.dataSync();
      expect(Math.max(...w)).toBeGreaterThan(0.1); // not a dead output
      const rel = maxRelError(got.dataSync(), w);
      console.log(`faceres embed vs direct graph: max relative error ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-4);
      tf.dispose([x, input, want, got]);
    } finally {
      graph.dispose();
    }
  });

  it('a graph without the faceres nodes fails naming the file', async () => {
    const err = await loadFaceresGraph(defaultMobilefacePath()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/mobileface\.json/);
  });

  it.skipIf(!lfwPresent)('LFW: mated pairs are more similar than non-mated ones', async () => {
    // 4 + 4 pairs (16 images) take about 4 s on native; the cpu backend gets 2 + 2 to stay near 15 s.
    const perKind = BACKEND === 'native' ? 4 : 2;
    const all = loadLfwPairs(join(lfwRoot, 'pairs.txt')).filter((p) => p.fold === 1);
    const pairs = [...all.filter((p) => p.mated).slice(0, perKind), ...all.filter((p) => !p.mated).slice(0, perKind)];
    const paths = [...new Set(pairs.flatMap((p) => [join(lfwRoot, p.a), join(lfwRoot, p.b)]))];
    const t0 = performance.now();
    const emb = await embedImages(fr, paths, { batchSize: 8 });
    const msPerImage = (performance.now() - t0) / paths.length;
    expect(emb.size).toBe(paths.length);
    const sim = (m: boolean): number[] =>
      pairs.filter((p) => p.mated === m).map((p) => cosineSimilarity(emb.get(join(lfwRoot, p.a))!, emb.get(join(lfwRoot, p.b))!));
    const mated = sim(true);
    const non = sim(false);
    console.log(
      `faceres on ${BACKEND}: ${msPerImage.toFixed(0)} ms/image incl. decode; mated ${mated.map((v) => v.toFixed(2))}, non-mated ${non.map((v) => v.toFixed(2))}`,
    );
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(mated) - mean(non)).toBeGreaterThan(0.2);
    expect(Math.min(...mated)).toBeGreaterThan(Math.max(...non));
  });
});
