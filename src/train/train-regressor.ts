/**
 * Training of the quality regressors on the generic trainer (src/train/trainer.ts):
 * - DifFIQA(R) (METHOD §3): L1 on min-max normalised DifFIQA labels.
 * - eDifFIQA (METHOD §4): label optimisation with identity centres plus representation consistency with
 *   precomputed teacher embeddings (src/regressor/label-optimisation.ts, teacher.ts).
 * Shared (METHOD §3, §4.4): Adam with two groups (head lr 1e-3; the LAST K parameter tensors of the backbone in
 * registration order lr 1e-4; all other backbone tensors frozen), gradient-norm clip 5, every BatchNorm in
 * training mode (PyTorch model.train(): running statistics update in frozen layers too), validation at the end
 * of each epoch, and the best-validation model kept as `best.safetensors` (+ `best.json`), written atomically.
 *
 * Validation runs BatchNorm in eval mode (running statistics), as the reference's validation loop does.
 *
 * Deviations, on purpose: fp32 instead of AMP; gradient clipping over the optimised tensors only. Upstream the
 * frozen tensors keep requires_grad, are never zeroed or unscaled, and enter clip_grad_norm_ at the AMP scale, so
 * its clip coefficient is ~1e-3 on every step and shrinks as they accumulate (bench/reference-clip.py; README
 * "Deviations" has the measured effect: head updates 0.59x, trainable backbone 0.86x ours after 6 steps).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend/tf.js';
import { decodeImage } from '../data/image-io.js';
import { flipHorizontal } from '../data/image.js';
import type { HostTensor } from '../nn/params.js';
import type { ParamGroup } from './adam.js';
import { train, type TrainTask } from './trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CheckpointError, DataError } from '../util/errors.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { resolveRegressorSpec, type RegressorConfig } from '../regressor/config.js';
import { computeLabelRange, normaliseLabel, readLabelledItems, splitByLabel, type LabelledItem, type LabelRange } from './regressor-labels.js';
import { computeCentres, computeEdiffiqaLosses, computeEdiffiqaValLoss, selectIdentities } from '../regressor/label-optimisation.js';
import { createQualityRegressor, type QualityRegressor } from '../regressor/model.js';
import { loadTeacherEmbeddings } from './teacher.js';
import { readTorchStateDict, saveRegressorFile } from '../regressor/weights.js';

/** Options of `trainRegressor`. */
export interface TrainRegressorOptions {
  config: RegressorConfig;
  /** Config file name, for errors and provenance. */
  configFile?: string;
  /** The labeller's output (CSV/JSONL with `path` and the label column). */
  labels: string;
  /** Folder holding the labelled images. */
  data: string;
  /** Run folder: checkpoints, metrics.jsonl, best.safetensors, teacher cache. */
  runDir: string;
  resume?: boolean;
  quiet?: boolean;
  /** Called after every optimiser step. */
  onStep?(step: number, loss: number): void;
  /** Aborting it stops after the current step with a checkpoint (the trainer's `signal`). */
  signal?: AbortSignal;
}

/** What a training run produced. */
export interface TrainRegressorResult {
  steps: number;
  stepsPerEpoch: number;
  trainItems: number;
  valItems: number;
  labels: LabelRange;
  /** Validation losses in order. */
  validations: { step: number; valLoss: number }[];
  bestValLoss: number;
  /** `<runDir>/best.safetensors`, or null if no validation ran. */
  bestFile: string | null;
}

/** Per-item training data on the host. */
interface Dataset {
  items: LabelledItem[];
  /** Normalised labels. */
  q: Float32Array;
  /** eDifFIQA: centre index per item, centres [K*D], teacher embeddings [N*D]. */
  centreOf?: Int32Array;
  centres?: Float32Array;
  teacher?: Float32Array;
}

interface Batch {
  x: tf.Tensor4D;
  q: tf.Tensor1D;
  centres?: tf.Tensor2D;
  teacher?: tf.Tensor2D;
}

/** `names` that are parameters (not BatchNorm running statistics), in order: PyTorch's `parameters()`. */
function parameterNames(model: QualityRegressor, names: readonly string[]): string[] {
  return names.filter((n) => !/\.running_(mean|var)$/.test(n) && model.params.entry(n) !== undefined);
}

/**
 * The optimiser groups: head at `headLr`; the last `k` backbone parameter tensors at `backboneLr`, minus those
 * frozen by design (insightface's `features.weight`, requires_grad=False). Everything else stays frozen.
 */
export function selectParamGroups(model: QualityRegressor, k: number, headLr: number, backboneLr: number): ParamGroup[] {
  const named = (names: string[]): [string, tf.Variable][] =>
    names.filter((n) => model.params.entry(n)!.trainable).map((n) => [n, model.params.get(n)]);
  const groups: ParamGroup[] = [{ lr: headLr, params: named(model.headNames()) }];
  const backbone = parameterNames(model, model.backboneNames());
  const tail = k > 0 ? backbone.slice(-k) : [];
  if (backboneLr > 0 && tail.length > 0) groups.push({ lr: backboneLr, params: named(tail) });
  return groups;
}

/** Loads backbone init weights (`model.init`) into the regressor's backbone, checking every tensor is present. */
function loadBackboneInit(model: QualityRegressor, file: string, prefix: string): void {
  const sd = readTorchStateDict(file);
  const mapped = new Map<string, HostTensor>();
  for (const [k, v] of sd) if (k.startsWith(prefix)) mapped.set(model.backbonePrefix + k.slice(prefix.length), v);
  for (const name of model.backboneNames()) {
    if (!mapped.has(name)) throw new CheckpointError(file, prefix + name.slice(model.backbonePrefix.length), 'missing from the backbone init weights');
  }
  model.params.loadTorchStateDict(mapped, file, { strict: false });
}

async function prepareDataset(opts: TrainRegressorOptions, model: QualityRegressor): Promise<{ data: Dataset; range: LabelRange }> {
  const cfg = opts.config;
  const { items: all, unmatched } = readLabelledItems(opts.labels, opts.data, cfg.data.labelColumn, cfg.data.identityPattern);
  if (unmatched.length > 0 && !opts.quiet) {
    process.stderr.write(`diffiqa: ${unmatched.length} labelled paths are not under ${opts.data} (first: ${unmatched[0]}); using ${all.length}\n`);
  }
  if (cfg.model.kind === 'diffiqa-r') {
    const range = computeLabelRange(all.map((it) => it.raw), opts.labels);
    return { data: { items: all, q: Float32Array.from(all, (it) => normaliseLabel(it.raw, range)) }, range };
  }
  const e = cfg.ediffiqa;
  const sel = selectIdentities(all.map((it) => it.identity), all.map((it) => it.raw), e.beta, e.minHq);
  if (sel.identities.length === 0) {
    throw new DataError(opts.labels, `no identity has ${e.minHq} images with score >= tau = ${sel.tau} (top ${e.beta * 100}%): lower ediffiqa.minHq`);
  }
  const items = sel.keptItems.map((i) => all[i] as LabelledItem);
  const range = computeLabelRange(items.map((it) => it.raw), opts.labels);
  const teacherMap = await loadTeacherEmbeddings(items, {
    teacher: e.teacher,
    weights: e.teacherWeights,
    prefix: e.teacherPrefix,
    batchSize: e.teacherBatch,
    cacheDir: path.join(opts.runDir, 'teacher'),
    dataset: path.resolve(opts.data),
    expectedDim: model.embeddingDim,
    configFile: opts.configFile,
    quiet: opts.quiet,
  });
  const d = model.embeddingDim;
  const embOf = (i: number): Float32Array => teacherMap.get((all[i] as LabelledItem).rel)!;
  const centres = computeCentres(sel.hqMembers, embOf);
  const teacher = new Float32Array(items.length * d);
  items.forEach((it, i) => teacher.set(teacherMap.get(it.rel)!, i * d));
  const flat = new Float32Array(centres.length * d);
  centres.forEach((c, k) => flat.set(c, k * d));
  const data: Dataset = {
    items,
    q: Float32Array.from(items, (it) => normaliseLabel(it.raw, range)),
    centreOf: Int32Array.from(sel.keptItems, (i) => sel.centreOf[i] as number),
    centres: flat,
    teacher,
  };
  return { data, range };
}

/**
 * Builds the host arrays and tensors of one batch of item indices; `flips[j]` mirrors image j (training
 * augmentation, `data.flipProb`).
 */
async function makeBatch(data: Dataset, idx: readonly number[], size: number, d: number, flips?: readonly boolean[]): Promise<Batch> {
  const decoded = await Promise.all(idx.map((i) => decodeImage((data.items[i] as LabelledItem).file, { size: { width: size, height: size } })));
  const images = decoded.map((img, j) => (flips?.[j] ? flipHorizontal(img) : img));
  const per = size * size * 3;
  const xs = new Float32Array(idx.length * per);
  images.forEach((img, j) => xs.set(img.data, j * per));
  const batch: Batch = {
    x: tf.tensor4d(xs, [idx.length, size, size, 3]),
    q: tf.tensor1d(Float32Array.from(idx, (i) => data.q[i] as number)),
  };
  if (data.teacher && data.centres && data.centreOf) {
    const c = new Float32Array(idx.length * d);
    const t = new Float32Array(idx.length * d);
    idx.forEach((i, j) => {
      const k = data.centreOf![i] as number;
      c.set(data.centres!.subarray(k * d, (k + 1) * d), j * d);
      t.set(data.teacher!.subarray(i * d, (i + 1) * d), j * d);
    });
    batch.centres = tf.tensor2d(c, [idx.length, d]);
    batch.teacher = tf.tensor2d(t, [idx.length, d]);
  }
  return batch;
}

function disposeBatch(b: Batch): void {
  tf.dispose([b.x, b.q, ...(b.centres ? [b.centres] : []), ...(b.teacher ? [b.teacher] : [])]);
}

/** The shuffled training order of epoch `e`: a pure function of (seed, e), so resume is exact. */
function epochOrder(train: readonly number[], seed: number, e: number): number[] {
  return new Rng(deriveSeed(seed, `regressor-epoch-${e}`)).shuffle([...train]);
}

/** Mean validation loss over `val` in eval mode, weighted by batch size. */
async function validate(model: QualityRegressor, cfg: RegressorConfig, data: Dataset, val: readonly number[]): Promise<number> {
  let sum = 0;
  for (let s = 0; s < val.length; s += cfg.train.batchSize) {
    const idx = val.slice(s, s + cfg.train.batchSize);
    const b = await makeBatch(data, idx, model.inputSize, model.embeddingDim);
    const loss = tf.tidy(() => {
      const { quality, embedding } = model.forward(b.x, false);
      if (b.teacher) return computeEdiffiqaValLoss(quality, b.q, embedding, b.teacher, cfg.ediffiqa.theta);
      return tf.mean(tf.abs(tf.sub(quality, b.q))) as tf.Scalar;
    });
    sum += (loss.dataSync()[0] as number) * idx.length;
    tf.dispose(loss);
    disposeBatch(b);
  }
  return sum / val.length;
}

function readBestLoss(runDir: string): number {
  const file = path.join(runDir, 'best.json');
  if (!fs.existsSync(file)) return Infinity;
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { valLoss: number }).valLoss;
}

/**
 * Trains (or resumes) a regressor from a label file and an image folder.
 * @example await trainRegressor({ config: loadRegressorConfig('configs/regressor/ediffiqa-t.yaml'), labels: 'labels.csv', data: 'faces/', runDir: 'checkpoints/ediffiqa-t' })
 * @throws DataError for unusable labels or images, ConfigError for an inconsistent config
 */
export async function trainRegressor(opts: TrainRegressorOptions): Promise<TrainRegressorResult> {
  const cfg = opts.config;
  const spec = resolveRegressorSpec(cfg, opts.configFile);
  fs.mkdirSync(opts.runDir, { recursive: true });
  const model = createQualityRegressor(spec, { seed: cfg.train.seed });
  try {
    if (cfg.model.init) loadBackboneInit(model, cfg.model.init, cfg.model.initPrefix);
    const { data, range } = await prepareDataset(opts, model);
    const { train: trainIdx, val } = splitByLabel(Array.from(data.q), cfg.data.valEvery);
    if (trainIdx.length === 0) throw new DataError(opts.labels, `only ${data.items.length} usable items: nothing left to train on`);
    const bs = cfg.train.batchSize;
    // A final training batch of ONE image would give BatchNorm1d (`features`, `bn`) zero batch variance (PyTorch
    // refuses it in train mode); that image joins the previous batch instead.
    const stepsPerEpoch = trainIdx.length % bs === 1 && trainIdx.length > 1 ? Math.floor(trainIdx.length / bs) : Math.ceil(trainIdx.length / bs);
    const steps = cfg.train.epochs * stepsPerEpoch;
    const orders = new Map<number, number[]>();
    const validations: { step: number; valLoss: number }[] = [];
    let best = opts.resume ? readBestLoss(opts.runDir) : Infinity;
    const bestFile = path.join(opts.runDir, 'best.safetensors');
    const task: TrainTask<Batch> = {
      params: model.params,
      paramGroups: () => selectParamGroups(model, cfg.train.trainableTensors, cfg.train.headLr, cfg.train.backboneLr),
      async batch(index) {
        const e = Math.floor(index / stepsPerEpoch);
        if (!orders.has(e)) orders.set(e, epochOrder(trainIdx, cfg.train.seed, e));
        const k = index % stepsPerEpoch;
        const end = k === stepsPerEpoch - 1 ? trainIdx.length : (k + 1) * bs;
        const idx = orders.get(e)!.slice(k * bs, end);
        // Flips are a pure function of (seed, step), like the order, so a resumed run draws the same ones.
        const flipRng = new Rng(deriveSeed(cfg.train.seed, `regressor-flip-${index}`));
        const flips = idx.map(() => flipRng.chance(cfg.data.flipProb));
        return makeBatch(data, idx, model.inputSize, model.embeddingDim, flips);
      },
      loss(b) {
        const { quality, embedding } = model.forward(b.x, true);
        if (b.teacher && b.centres) {
          const e = cfg.ediffiqa;
          return computeEdiffiqaLosses(quality, b.q, embedding, b.centres, b.teacher, { eps: e.epsilon, theta: e.theta }).total;
        }
        return tf.mean(tf.abs(tf.sub(quality, b.q))) as tf.Scalar;
      },
      disposeBatch,
      async onEvaluate(step) {
        const valLoss = await validate(model, cfg, data, val);
        validations.push({ step, valLoss });
        if (valLoss < best) {
          best = valLoss;
          const info = { step, valLoss, config: opts.configFile ?? null };
          saveRegressorFile(bestFile, model, { labels: range, info });
          writeFileAtomic(path.join(opts.runDir, 'best.json'), JSON.stringify({ ...info, spec, labels: range, settings: cfg }, null, 1));
        }
        return { val_loss: valLoss, best_val_loss: best };
      },
    };
    const r = await train(task, {
      runDir: opts.runDir,
      steps,
      gradAccumulate: 1,
      beta1: cfg.train.beta1,
      beta2: cfg.train.beta2,
      clipGradNorm: cfg.train.clipGradNorm,
      checkpointEvery: cfg.train.checkpointEvery,
      evaluateEvery: cfg.train.validateEvery || stepsPerEpoch,
      seed: cfg.train.seed,
      config: { settings: cfg, spec, labels: range },
      resume: opts.resume,
      quiet: opts.quiet,
      onStep: opts.onStep,
      signal: opts.signal,
    });
    r.optimizer.dispose();
    r.ema?.dispose();
    return {
      steps: r.step,
      stepsPerEpoch,
      trainItems: trainIdx.length,
      valItems: val.length,
      labels: range,
      validations,
      bestValLoss: best,
      bestFile: fs.existsSync(bestFile) ? bestFile : null,
    };
  } finally {
    model.dispose();
  }
}
