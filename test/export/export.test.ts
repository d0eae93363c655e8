/**
 * `diffiqa export` (src/export): the exported models score real faces as `diffiqa score` does.
 *
 * The faces: every face in @vladmandic/face-api's six demo photos (ships in node_modules, 22 faces), aligned as
 * `diffiqa align` does, each as is, mirrored, and at one rung of the quality ladder: 64 aligned 112x112 PNGs with a
 * real spread of quality. `diffiqa score` (the CLI command) scores them; the tfjs export runs on tfjs `cpu` through
 * `tf.loadGraphModel`, the ONNX export in onnxruntime-node, both fed the decoded PNGs. The tolerance, 1e-4
 * absolute, is the issue's; BatchNorm folding and a different backend move scores by about 1e-7.
 *
 * The ONNX checker runs Python's onnx (`DIFFIQA_ONNX_PYTHON`, default /usr/bin/python3: Debian's python3-onnx);
 * where it cannot import onnx the test is skipped with the reason printed, as test/diffusion/reference-check does.
 * The browser check (test/export/browser.ts) runs where a Chromium is installed (`DIFFIQA_CHROMIUM`), else is skipped.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfconv from '@tensorflow/tfjs-converter';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { tf } from '../../src/backend/tf.js';
import { exportCommand } from '../../src/cli/export.js';
import { scoreCommand } from '../../src/cli/score.js';
import { flipHorizontal, type RgbImage } from '../../src/data/image.js';
import { decodeImage, writeImage } from '../../src/data/image-io.js';
import { degradeAtSeverity } from '../../src/data/quality-ladder.js';
import { samplePhotos } from '../../src/experiment/demo.js';
import { exportRegressor } from '../../src/export/exporter.js';
import { describeRegressorGraph } from '../../src/export/regressor-graph.js';
import { toTfjsGraphModel } from '../../src/export/tfjs.js';
import { alignFace, loadAligner } from '../../src/fr/align.js';
import { fileGraphHandler } from '../../src/fr/mobileface-graph.js';
import { sha256File, shippedModelPath } from '../../src/models/shipped.js';
import { readResults } from '../../src/pipelines/records.js';
import { loadRegressor } from '../../src/pipelines/score.js';
import { createQualityRegressor } from '../../src/regressor/model.js';
import type { RegressorKind } from '../../src/regressor/spec.js';
import { loadRegressorWeights, saveRegressorFile } from '../../src/regressor/weights.js';
import { CheckpointError, DiffiqaError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { inProcessCli } from '../cli/in-process.js';
import { findChromium, scoreInBrowser } from './browser.js';

const TOL = 1e-4;
const S = 112;
const FACES = 64;
const PYTHON = process.env.DIFFIQA_ONNX_PYTHON ?? '/usr/bin/python3';
const FIXTURES = fileURLToPath(new URL('../fixtures/regressor/', import.meta.url));

let root = '';
/** The 64 face files, sorted, and their decoded pixels ([0,1] RGB HWC, as `diffiqa score` decodes them). */
let files: string[] = [];
let pixels: Float32Array[] = [];
/** `diffiqa score` of each file (shipped eDifFIQA). */
let scored: number[] = [];
let tfjsDir = '';
let onnxFile = '';

const chromium = findChromium();
if ('reason' in chromium) console.log(`SKIP the browser check: ${chromium.reason}`);

const cli = inProcessCli(scoreCommand, exportCommand);

/** 64 aligned faces with a spread of quality: each face of the demo photos as is, mirrored, and degraded. */
async function writeFaces(dir: string): Promise<void> {
  const aligner = loadAligner();
  const crops: RgbImage[] = [];
  try {
    for (const photo of samplePhotos()) {
      const img = await decodeImage(photo, { size: 'native', maxSide: 1024 });
      for (const box of aligner.detector.detect(img)) crops.push(alignFace(img, box, aligner.landmarks).crop);
    }
  } finally {
    aligner.dispose();
  }
  expect(crops.length * 3, 'faces found in the demo photos').toBeGreaterThanOrEqual(FACES);
  const variants: [string, (c: RgbImage, i: number) => Promise<RgbImage>][] = [
    ['clean', async (c) => c],
    ['mirror', async (c) => flipHorizontal(c)],
    ['ladder', (c, i) => degradeAtSeverity(c, 1 + (i % 4), new Rng(`export-${i}`))],
  ];
  let n = 0;
  for (const [name, make] of variants) {
    for (const [i, crop] of crops.entries()) {
      if (n++ === FACES) return;
      await writeImage(path.join(dir, `${name}-${String(i).padStart(2, '0')}.png`), await make(crop, i));
    }
  }
}

/** NHWC [B,S,S,3] -> NCHW [B,3,S,S]. */
function toNchw(images: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(images.length * 3 * S * S);
  images.forEach((img, b) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        for (let c = 0; c < 3; c++) out[((b * 3 + c) * S + y) * S + x] = img[(y * S + x) * 3 + c] as number;
      }
    }
  });
  return out;
}

function nhwc(images: readonly Float32Array[]): tf.Tensor4D {
  const data = new Float32Array(images.length * S * S * 3);
  images.forEach((img, i) => data.set(img, i * S * S * 3));
  return tf.tensor4d(data, [images.length, S, S, 3]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function spread(a: ArrayLike<number>): number {
  return Math.max(...Array.from(a)) - Math.min(...Array.from(a));
}

/** Scores with the exported tfjs model, loaded by tf.loadGraphModel on the tfjs `cpu` backend. */
async function runTfjs(modelJson: string, images: readonly Float32Array[]): Promise<{ scores: Float32Array; metadata: unknown }> {
  await tf.setBackend('cpu');
  const model = await tfconv.loadGraphModel(fileGraphHandler(modelJson));
  try {
    const scores = tf.tidy(() => (model.execute({ image: nhwc(images) }, 'quality') as tf.Tensor).dataSync() as Float32Array);
    return { scores, metadata: model.metadata };
  } finally {
    model.dispose();
  }
}

async function runOnnx(session: ort.InferenceSession, images: readonly Float32Array[]): Promise<{ scores: Float32Array; dims: readonly number[] }> {
  const out = await session.run({ image: new ort.Tensor('float32', toNchw(images), [images.length, 3, S, S]) });
  const q = out.quality as ort.Tensor;
  return { scores: q.data as Float32Array, dims: q.dims };
}

/** A random 112-px IResNet regressor checkpoint in our format, its BatchNorms given non-trivial statistics. */
function writeIResNetCheckpoint(file: string, kind: RegressorKind): void {
  const model = createQualityRegressor({ kind, backbone: { type: 'iresnet', iresnet: { layers: [1, 2, 1, 1], width: 4, embeddingDim: 8, inputSize: S } }, hidden: 16 }, { seed: 3 });
  const rng = new Rng(`iresnet-${kind}`);
  const fill = (name: string, lo: number, hi: number): void => {
    if (!model.params.has(name)) return;
    const v = model.params.get(name);
    v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => rng.range(lo, hi)), v.shape));
  };
  try {
    for (const bn of model.params.names().filter((n) => n.endsWith('.running_mean')).map((n) => n.slice(0, -'.running_mean'.length))) {
      fill(`${bn}.running_mean`, -0.3, 0.3);
      fill(`${bn}.running_var`, 0.5, 1.5);
      fill(`${bn}.weight`, 0.5, 1.5);
      fill(`${bn}.bias`, -0.3, 0.3);
    }
    for (const head of model.headNames().filter((n) => n.endsWith('.weight'))) fill(head, -1, 1); // a wider spread of scores
    saveRegressorFile(file, model, { labels: null, info: { made: 'test/export/export.test.ts' } });
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  // The backend `diffiqa score` picks (native where built): face detection on the pure-JS cpu backend is slow.
  await initBackend();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'export-'));
  const faces = path.join(root, 'faces');
  fs.mkdirSync(faces);
  await writeFaces(faces);
  // `diffiqa score` with the shipped eDifFIQA, as a user runs it.
  const csv = path.join(root, 'scores.csv');
  await cli(['score', faces, '--out', csv]).parseAsync();
  const byPath = new Map(readResults(csv).map((r) => [r.path, r.values.quality as number]));
  files = [...byPath.keys()].sort();
  scored = files.map((f) => byPath.get(f) as number);
  pixels = await Promise.all(files.map(async (f) => (await decodeImage(f, { size: { width: S, height: S } })).data));
  // Both exports of the default model, through the CLI.
  tfjsDir = path.join(root, 'ediffiqa-tfjs');
  onnxFile = path.join(root, 'ediffiqa.onnx');
  await cli(['export', '--format', 'tfjs', '--out', tfjsDir]).parseAsync();
  await cli(['export', '--format', 'onnx', '--out', onnxFile]).parseAsync();
}, 300_000);

describe('diffiqa export: the shipped eDifFIQA', () => {
  it(`scores the ${FACES} faces: diffiqa score has a real spread to compare`, () => {
    expect(files).toHaveLength(FACES);
    expect(spread(scored)).toBeGreaterThan(100 * TOL);
  });

  it('tfjs: tf.loadGraphModel on the cpu backend scores 64 faces within 1e-4 of diffiqa score', async () => {
    expect(fs.readdirSync(tfjsDir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const json = JSON.parse(fs.readFileSync(path.join(tfjsDir, 'model.json'), 'utf8')) as { format: string };
    expect(json.format).toBe('graph-model');
    const { scores } = await runTfjs(path.join(tfjsDir, 'model.json'), pixels);
    expect(tf.getBackend()).toBe('cpu');
    const diff = maxAbsDiff(scores, scored);
    console.log(`tfjs (cpu) vs diffiqa score, ${FACES} faces: max |diff| ${diff.toExponential(2)} (scores ${Math.min(...scored).toFixed(3)}..${Math.max(...scored).toFixed(3)})`);
    expect(diff).toBeLessThan(TOL);
  });

  it.skipIf('reason' in chromium)('tfjs: tf.loadGraphModel(url) in a browser (headless Chromium, tfjs cpu) scores 64 faces within 1e-4 of diffiqa score', async () => {
    const run = await scoreInBrowser((chromium as { path: string }).path, tfjsDir, pixels);
    expect(run.backend).toBe('cpu');
    expect(run.metadata).toMatchObject({ diffiqa: { contract: { input: { name: 'image', layout: 'NHWC' } } } });
    const diff = maxAbsDiff(run.scores, scored);
    console.log(`tfjs in Chromium (cpu) vs diffiqa score, ${FACES} faces: max |diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(TOL);
  });

  it('onnx: onnxruntime-node scores 64 faces within 1e-4 of diffiqa score; input image NCHW, output quality [N]', async () => {
    const session = await ort.InferenceSession.create(onnxFile);
    try {
      expect(session.inputNames).toEqual(['image']);
      expect(session.outputNames).toEqual(['quality']);
      const { scores, dims } = await runOnnx(session, pixels);
      expect(dims).toEqual([FACES]);
      const diff = maxAbsDiff(scores, scored);
      console.log(`onnx (onnxruntime-node) vs diffiqa score, ${FACES} faces: max |diff| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(TOL);
    } finally {
      await session.release();
    }
  });

  it('onnx: dynamic batch: batches of 1 and of 5 from the same file', async () => {
    const session = await ort.InferenceSession.create(onnxFile);
    try {
      for (const [start, n] of [
        [7, 1],
        [20, 5],
      ] as const) {
        const { scores, dims } = await runOnnx(session, pixels.slice(start, start + n));
        expect(dims).toEqual([n]);
        expect(maxAbsDiff(scores, scored.slice(start, start + n))).toBeLessThan(TOL);
      }
    } finally {
      await session.release();
    }
  });

  it('carries the input contract and provenance: tfjs userDefinedMetadata, ONNX metadata_props', async () => {
    const sha = sha256File(shippedModelPath('ediffiqa'));
    const { metadata } = await runTfjs(path.join(tfjsDir, 'model.json'), pixels.slice(0, 1));
    const tfjsMeta = (metadata as { diffiqa: { contract: Record<string, Record<string, unknown>>; provenance: Record<string, unknown> } }).diffiqa;
    expect(tfjsMeta.contract.input).toMatchObject({ name: 'image', dtype: 'float32', layout: 'NHWC', shape: '[N,112,112,3]', range: [0, 1], colour: 'RGB' });
    expect(tfjsMeta.contract.output).toMatchObject({ name: 'quality', shape: '[N]' });
    expect(tfjsMeta.provenance).toMatchObject({ model: 'ediffiqa/mobileface', source: 'ediffiqa-mobileface.safetensors', sourceSha256: sha });

    const model = onnxProto.onnx.ModelProto.decode(fs.readFileSync(onnxFile));
    expect(Number(model.irVersion)).toBeGreaterThanOrEqual(7);
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    const props = new Map(model.metadataProps.map((p) => [p.key, p.value]));
    const contract = JSON.parse(props.get('diffiqa.contract') ?? 'null') as Record<string, Record<string, unknown>>;
    const provenance = JSON.parse(props.get('diffiqa.provenance') ?? 'null') as Record<string, unknown>;
    expect(contract.input).toMatchObject({ name: 'image', layout: 'NCHW', shape: '[N,3,112,112]', range: [0, 1], colour: 'RGB' });
    expect(contract.output).toMatchObject({ name: 'quality', shape: '[N]' });
    expect(provenance).toMatchObject({ model: 'ediffiqa/mobileface', source: 'ediffiqa-mobileface.safetensors', sourceSha256: sha });
    expect(provenance.spec).toEqual(tfjsMeta.provenance.spec);
    const dims = model.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3, 112, 112]);
    const outDims = model.graph?.output?.[0]?.type?.tensorType?.shape?.dim ?? [];
    expect(outDims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N']);
  });
});

/** The ONNX checker of Python's onnx, or why it cannot run. */
function probeOnnx(): { version: string } | { reason: string } {
  const r = spawnSync(PYTHON, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { reason: `${PYTHON} cannot be run (${r.error.message})` };
  if (r.status !== 0) return { reason: `${PYTHON} cannot import onnx (${r.stderr.trim().split('\n').pop() || `exit ${r.status}`}); set DIFFIQA_ONNX_PYTHON or install python3-onnx` };
  return { version: r.stdout.trim() };
}
const onnxPy = probeOnnx();
if ('reason' in onnxPy) console.log(`SKIP onnx.checker: ${onnxPy.reason}`);

describe('onnx.checker', () => {
  it.skipIf('reason' in onnxPy)('passes check_model(full_check=True) for every exported architecture', () => {
    const extra = path.join(root, 'checker');
    fs.mkdirSync(extra, { recursive: true });
    const models = [onnxFile];
    for (const [name, src] of [
      ['diffiqa-r', shippedModelPath('diffiqa-r')],
      ['mobilefacenet', path.join(FIXTURES, 'ediffiqa_t_tiny.pth')],
    ] as const) {
      const out = path.join(extra, `${name}.onnx`);
      exportRegressor({ model: src, format: 'onnx', out });
      models.push(out);
    }
    const script = [
      'import sys, onnx',
      'for f in sys.argv[1:]:',
      '    onnx.checker.check_model(onnx.load(f), full_check=True)',
      "print(f'onnx {onnx.__version__}: check_model(full_check=True) passed for {len(sys.argv) - 1} models')",
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, ...models], { encoding: 'utf8', timeout: 120_000 });
    console.log(`onnx.checker (${PYTHON}): ${r.stdout.trim() || '(no output)'}`);
    expect(r.status, `checker stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`).toBe(0);
    expect(r.stdout).toContain(`passed for ${models.length} models`);
  });
});

describe('diffiqa export: other regressors', () => {
  // The shipped DifFIQA(R), eDifFIQA(T)'s MobileFaceNet layout (reference .pth), and IResNet checkpoints in our format.
  const cases: [string, () => string][] = [
    ['DifFIQA(R) shipped (mobileface, linear head)', () => shippedModelPath('diffiqa-r')],
    ['eDifFIQA MobileFaceNet (.pth, L2-normalised embedding)', () => path.join(FIXTURES, 'ediffiqa_t_tiny.pth')],
    ['eDifFIQA IResNet (BN before padded convs, C-H-W flatten)', () => {
      const f = path.join(root, 'iresnet-ediffiqa.safetensors');
      writeIResNetCheckpoint(f, 'ediffiqa');
      return f;
    }],
    ['DifFIQA(R) IResNet', () => {
      const f = path.join(root, 'iresnet-diffiqa-r.safetensors');
      writeIResNetCheckpoint(f, 'diffiqa-r');
      return f;
    }],
  ];
  for (const [label, source] of cases) {
    it(`${label}: tfjs and onnx within 1e-4 of loadRegressor().score on 16 faces`, async () => {
      const model = source();
      const faces = pixels.filter((_, i) => i % 4 === 0);
      const scorer = loadRegressor(model);
      const ref = scorer.score(faces);
      scorer.dispose();
      expect(spread(ref), 'reference scores must vary for the comparison to mean something').toBeGreaterThan(10 * TOL);
      const dir = path.join(root, `${path.basename(model)}-tfjs`);
      const file = path.join(root, `${path.basename(model)}.onnx`);
      exportRegressor({ model, format: 'tfjs', out: dir });
      exportRegressor({ model, format: 'onnx', out: file });
      const { scores: t } = await runTfjs(path.join(dir, 'model.json'), faces);
      const session = await ort.InferenceSession.create(file);
      const { scores: o } = await runOnnx(session, faces);
      await session.release();
      expect(maxAbsDiff(t, ref)).toBeLessThan(TOL);
      expect(maxAbsDiff(o, ref)).toBeLessThan(TOL);
    });
  }
});

describe('diffiqa export: errors and output files', () => {
  it('a bad MODEL path is a CheckpointError naming it, from the API and the CLI, and writes nothing', async () => {
    const missing = path.join(root, 'no-such-model.safetensors');
    const out = path.join(root, 'never.onnx');
    expect(() => exportRegressor({ model: missing, format: 'onnx', out })).toThrow(CheckpointError);
    expect(() => exportRegressor({ model: missing, format: 'onnx', out })).toThrow(`${missing}: no such file or folder`);
    await expect(cli(['export', missing, '--format', 'tfjs', '--out', out]).parseAsync()).rejects.toThrow(missing);
    const notAModel = path.join(root, 'scores.csv');
    expect(() => exportRegressor({ model: notAModel, format: 'onnx', out })).toThrow(notAModel);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an architecture outside the contract (a 48-px IResNet) is refused with an error naming the file', () => {
    const tiny = path.join(FIXTURES, 'diffiqa_r_tiny.pth');
    const out = path.join(root, 'tiny.onnx');
    expect(() => exportRegressor({ model: tiny, format: 'onnx', out })).toThrow(new RegExp(`^${tiny.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot export: its iresnet backbone takes 48x48 faces`));
    expect(fs.existsSync(out)).toBe(false);
  });

  it('tfjs: weights split over several shards (cut across tensors, as tfjs-converter does) load and score the same', async () => {
    const { model, file } = loadRegressorWeights(shippedModelPath('ediffiqa'));
    const graph = describeRegressorGraph(model, file);
    model.dispose();
    const files = toTfjsGraphModel(graph, { metadata: {}, generatedBy: 'test', shardBytes: 1 << 20 });
    expect([...files.keys()].sort()).toEqual(['group1-shard1of4.bin', 'group1-shard2of4.bin', 'group1-shard3of4.bin', 'group1-shard4of4.bin', 'model.json']);
    const dir = path.join(root, 'sharded-tfjs');
    fs.mkdirSync(dir);
    for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data);
    const { scores } = await runTfjs(path.join(dir, 'model.json'), pixels.slice(0, 8));
    expect(maxAbsDiff(scores, scored.slice(0, 8))).toBeLessThan(TOL);
  });

  it('tfjs: re-exporting replaces an earlier export; a folder holding other files is refused and left alone', () => {
    const dir = path.join(root, 'replace-tfjs');
    exportRegressor({ format: 'tfjs', out: dir });
    const before = fs.readFileSync(path.join(dir, 'model.json'), 'utf8');
    exportRegressor({ format: 'tfjs', out: dir });
    expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe(before); // deterministic
    expect(fs.readdirSync(root).filter((f) => f.startsWith('.'))).toEqual([]); // no temp or set-aside folder left
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(() => exportRegressor({ format: 'tfjs', out: dir })).toThrow(DiffiqaError);
    expect(() => exportRegressor({ format: 'tfjs', out: dir })).toThrow(`cannot write ${dir}: the folder exists and holds other files`);
    expect(fs.readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'notes.txt']);
  });
});
