/**
 * The quality regressors: an FR backbone followed by a quality head, all parameters in ONE ParamStore under the
 * reference's state-dict names, so reference weights load by name and our checkpoints stay loadable upstream.
 *
 * - DifFIQA(R) (METHOD §3): Sequential(base, linear): backbone `base.*`, head Linear(D->1) `linear.*`.
 * - eDifFIQA (METHOD §4.1): eDifFIQA(base_model, mlp): backbone `base_model.*`, head MLP D->hidden->GELU->1
 *   `mlp.l1.*`, `mlp.l2.*`.
 * Both return the quality (unbounded: METHOD §6.2 DifFIQA#3) and the backbone embedding (`return_feat`).
 */
import { tf } from '../backend/tf.js';
import { storeDeclarer } from '../fr/declare.js';
import { declareIResNet, iresnetForward } from '../fr/iresnet.js';
import { loadMobilefaceParams, mobilefaceForward } from '../fr/mobileface.js';
import { declareMobileFaceNet, mobileFaceNetForward } from '../fr/mobilefacenet.js';
import { gelu, linearNamed } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { ShapeError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { prefixDeclarer, prefixedView } from './param-view.js';
import { backbonePrefix, embeddingDimOf, inputSizeOf, type BackboneSpec, type RegressorSpec } from './spec.js';

/** Output of a regressor forward pass. */
export interface RegressorOutput {
  /** [B] raw quality (higher is better; may leave [0,1]). */
  quality: tf.Tensor1D;
  /** [B,D] backbone embedding (eDifFIQA `return_feat`). */
  embedding: tf.Tensor2D;
}

/** A quality regressor over one ParamStore. Call dispose() when done. */
export interface QualityRegressor {
  readonly spec: RegressorSpec;
  readonly params: ParamStore;
  /** Side of the square input (112 for the real backbones). */
  readonly inputSize: number;
  readonly embeddingDim: number;
  /** State-dict prefix of the backbone (`base.` or `base_model.`). */
  readonly backbonePrefix: string;
  /** Backbone parameter names (prefixed), registration = PyTorch order; buffers included. */
  backboneNames(): string[];
  /** Head parameter names. */
  headNames(): string[];
  /**
   * x [B,S,S,3] RGB in [0,1] (aligned faces; the backbone normalises to [-1,1] itself). `training` puts every
   * BatchNorm in training mode (batch statistics, running-stat updates), as PyTorch's model.train().
   */
  forward(x: tf.Tensor4D, training: boolean): RegressorOutput;
  dispose(): void;
}

type BackboneForward = (x: tf.Tensor4D, training: boolean) => tf.Tensor2D;

/** Declares the backbone into `store` under `prefix` and returns its forward function. */
function buildBackbone(store: ParamStore, prefix: string, b: BackboneSpec, mobilefacePath?: string): BackboneForward {
  const view = prefixedView(store, prefix);
  switch (b.type) {
    case 'iresnet':
      declareIResNet(prefixDeclarer(storeDeclarer(store), prefix), b.iresnet);
      return (x, training) => iresnetForward(view, b.iresnet, x, training);
    case 'mobilefacenet':
      declareMobileFaceNet(prefixDeclarer(storeDeclarer(store), prefix), b.mobilefacenet);
      return (x, training) => mobileFaceNetForward(view, b.mobilefacenet, x, training);
    case 'mobileface': {
      // The weights come from the graph model; copy them in under the prefix (mobileface has no BatchNorm left).
      const src = loadMobilefaceParams(mobilefacePath);
      try {
        for (const name of src.names()) {
          const e = src.entry(name)!;
          store.add(prefix + name, [...e.variable.shape], e.variable.dataSync() as Float32Array, e.kind, e.trainable);
        }
      } finally {
        src.dispose();
      }
      return (x) => mobilefaceForward(view, x);
    }
  }
}

/** Declares the head: DifFIQA(R) `linear` (D->1), eDifFIQA `mlp.l1` (D->hidden) and `mlp.l2` (hidden->1). */
function buildHead(store: ParamStore, spec: RegressorSpec, d: number): (e: tf.Tensor2D) => tf.Tensor2D {
  if (spec.kind === 'diffiqa-r') {
    store.addLinear('linear', d, 1, true);
    return (e) => linearNamed(store, 'linear', e);
  }
  store.addLinear('mlp.l1', d, spec.hidden, true);
  store.addLinear('mlp.l2', spec.hidden, 1, true);
  return (e) => linearNamed(store, 'mlp.l2', gelu(linearNamed(store, 'mlp.l1', e)) as tf.Tensor2D);
}

/** Options of `createQualityRegressor`. */
export interface CreateRegressorOptions {
  /** Seed of PyTorch-style default init. Default 0. */
  seed?: number;
  /** Override of the mobileface graph model path (backbone `mobileface`). */
  mobilefacePath?: string;
}

/**
 * Builds a regressor with PyTorch-default random init (the `mobileface` backbone starts from its trained
 * graph weights). Load weights with `params.loadTorchStateDict` or src/regressor/weights.ts.
 * @example const r = createQualityRegressor({ kind: 'ediffiqa', backbone: backboneSpecFor('r50'), hidden: 1024 });
 */
export function createQualityRegressor(spec: RegressorSpec, opts: CreateRegressorOptions = {}): QualityRegressor {
  const params = new ParamStore(new Rng(opts.seed ?? 0));
  const prefix = backbonePrefix(spec.kind);
  const d = embeddingDimOf(spec.backbone);
  const size = inputSizeOf(spec.backbone);
  let backbone: BackboneForward;
  let head: (e: tf.Tensor2D) => tf.Tensor2D;
  try {
    backbone = buildBackbone(params, prefix, spec.backbone, opts.mobilefacePath);
    head = buildHead(params, spec, d);
  } catch (err) {
    params.dispose();
    throw err;
  }
  return {
    spec,
    params,
    inputSize: size,
    embeddingDim: d,
    backbonePrefix: prefix,
    backboneNames: () => params.names().filter((n) => n.startsWith(prefix)),
    headNames: () => params.names().filter((n) => !n.startsWith(prefix)),
    forward(x, training) {
      if (x.rank !== 4 || x.shape[1] !== size || x.shape[2] !== size || x.shape[3] !== 3) {
        throw new ShapeError("'x' passed to the quality regressor", `[B,${size},${size},3]`, x.shape);
      }
      return tf.tidy(() => {
        const embedding = backbone(x, training);
        const quality = tf.reshape(head(embedding), [-1]) as tf.Tensor1D;
        return { quality, embedding };
      });
    },
    dispose: () => params.dispose(),
  };
}
