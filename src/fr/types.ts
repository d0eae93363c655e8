/**
 * Shared contracts of the face-recognition (FR) models. Every FR model takes the same input, aligned
 * 112x112 RGB crops in [0,1] (ArcFace template, METHOD §9), and applies its own preprocessing.
 */
import type { tf } from '../backend/tf.js';
import type { ParamStore } from '../nn/params.js';

/** An inference-ready FR model. */
export interface FrModel {
  /** Short permanent registry key (`mobileface`, `dlib`, `r100`, ...). */
  readonly name: string;
  /** Side of the square aligned input the model expects from callers (always 112 here). */
  readonly inputSize: number;
  /** Length of the embedding. */
  readonly embeddingDim: number;
  /** Embeds a batch [B,112,112,3] RGB in [0,1]; returns [B,D] (not necessarily L2-normalised). */
  embed(batch: tf.Tensor4D): tf.Tensor2D;
  /** Frees the weights. */
  dispose(): void;
}

/**
 * A trainable FR backbone over a ParamStore whose names are the reference's PyTorch names, so that
 * reference state dicts load by name (ParamStore.loadTorchStateDict) and the regressor can fine-tune it.
 */
export interface Backbone {
  readonly params: ParamStore;
  readonly embeddingDim: number;
  /**
   * Forward pass on [B,112,112,3] RGB in [0,1] (the backbone applies its own normalisation); returns [B,D].
   * `training` switches BatchNorm to batch statistics and running-stat updates (PyTorch train()).
   */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
}
