/**
 * The native data-movement, softmax, nearest-resize, pow, PReLU and batch-norm kernels, listed for
 * register-native.ts. Measured on a tiny UNet training step the cpu copies and softmax (SplitV, Softmax, Transpose,
 * ResizeNearestNeighborGrad) took longer than all convolutions together once those were native; after them, Pow
 * (UNet) and Prelu/Greater/Select/FusedBatchNorm (FR backbones in training mode) were each above 5%.
 */
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { concatConfig } from './Concat.js';
import { fusedBatchNormConfig } from './FusedBatchNorm.js';
import { greaterConfig } from './Greater.js';
import { padV2Config } from './PadV2.js';
import { preluConfig } from './Prelu.js';
import { powConfig } from './Pow.js';
import { resizeNearestNeighborConfig } from './ResizeNearestNeighbor.js';
import { resizeNearestNeighborGradConfig } from './ResizeNearestNeighborGrad.js';
import { reverseConfig } from './Reverse.js';
import { selectConfig } from './Select.js';
import { sliceConfig } from './Slice.js';
import { softmaxConfig } from './Softmax.js';
import { splitVConfig } from './SplitV.js';
import { tileConfig } from './Tile.js';
import { transposeConfig } from './Transpose.js';

/** Every kernel of this family, in registration order. */
export const DATA_MOVEMENT_KERNELS: readonly KernelConfig[] = [
  sliceConfig,
  splitVConfig,
  concatConfig,
  transposeConfig,
  tileConfig,
  padV2Config,
  reverseConfig,
  softmaxConfig,
  resizeNearestNeighborConfig,
  resizeNearestNeighborGradConfig,
  powConfig,
  preluConfig,
  greaterConfig,
  selectConfig,
  fusedBatchNormConfig,
];
