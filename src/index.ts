/**
 * The public API of diffiqa. Anything not exported here is internal.
 *
 * @example
 * import { initBackend, loadRegressor } from 'diffiqa';
 * await initBackend();                       // 'native' on a machine without tfjs-node
 * const scorer = loadRegressor();          // the shipped eDifFIQA (or a path to any regressor file)
 */
export { tf, initBackend, describeBackend, groupNorm, BACKEND_NAMES } from './backend/index.js';
export * from './util/errors.js';
export { Rng, deriveSeed } from './util/rng.js';
export { ParamStore, type HostTensor } from './nn/params.js';

// Diffusion model, process and checkpoints.
export { createUnet, PAPER_UNET, countUnetParams, type Unet, type UnetConfig } from './diffusion/unet.js';
export { cosineSchedule, createSchedule, type NoiseSchedule } from './diffusion/schedule.js';
export { qSample, diffusionLoss, ddimReconstruct, ddimTimes, restore } from './diffusion/gaussian.js';
export { loadDiffusion, type DiffusionModel, type LoadDiffusionOptions } from './diffusion/load.js';

// Data.
export { decodeImage, encodeImage } from './data/image-io.js';
export { listImageFiles } from './data/files.js';
export { degradeChain, autoDegrade } from './data/degrade/bsrgan.js';
export { PairDataset } from './data/dataset.js';

// Face recognition.
export { loadFrModel, FR_MODEL_NAMES, DEFAULT_FR_MODEL, DEFAULT_LABEL_FR_MODEL } from './fr/registry.js';
export { embedImages } from './fr/embed.js';
export type { FrModel, Backbone } from './fr/types.js';

// Training.
export { train, type TrainTask, type TrainerOptions } from './train/trainer.js';
export { createDiffusionTask } from './train/diffusion-task.js';

// Labelling and scoring.
export { labelBatch, type LabelOptions, type LabelTerms } from './pipelines/label.js';
export { runLabeller, type LabelRunOptions } from './pipelines/label-run.js';
export { mergeResults, readResults } from './pipelines/records.js';
export { loadRegressor, scoreFiles, type Scorer } from './pipelines/score.js';

// Export to other runtimes.
export { exportRegressor, exportContract, EXPORT_FORMATS, type ExportFormat, type ExportOptions, type ExportResult } from './export/exporter.js';

// Evaluation.
export * from './eval/index.js';
