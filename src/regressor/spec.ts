/**
 * What a quality regressor is made of, as plain data: the variant (DifFIQA(R) or eDifFIQA), the FR backbone's
 * exact structure and the head width. Checkpoints store a `RegressorSpec`, so a model rebuilds without its YAML
 * (STYLE §2.3); reference `.pth` files carry none, so `inferSpecFromStateDict` reads it off their keys and shapes.
 */
import { IRESNET_CONFIGS, iresnetFinalSide, type IResNetConfig } from '../fr/iresnet.js';
import { MFN_CONFIG, type MobileFaceNetConfig } from '../fr/mobilefacenet.js';
import type { HostTensor } from '../nn/params.js';
import { CheckpointError, RegistryError } from '../util/errors.js';

/** The two regressor families: DifFIQA(R) (METHOD §3) and eDifFIQA (METHOD §4). */
export type RegressorKind = 'diffiqa-r' | 'ediffiqa';

/** The FR backbone of a regressor, fully resolved. */
export type BackboneSpec =
  | { type: 'iresnet'; iresnet: IResNetConfig }
  | { type: 'mobilefacenet'; mobilefacenet: MobileFaceNetConfig }
  | { type: 'mobileface' };

/** A complete regressor description. */
export interface RegressorSpec {
  kind: RegressorKind;
  backbone: BackboneSpec;
  /** eDifFIQA MLP hidden width (1024 upstream, METHOD §4.1); unused by DifFIQA(R)'s linear head. */
  hidden: number;
}

/** Registry keys of the backbones (STYLE §2.2: short and permanent). */
export const BACKBONE_NAMES = ['r18', 'r50', 'r100', 'mfn', 'mobileface'] as const;
export type BackboneName = (typeof BACKBONE_NAMES)[number];

/** The eDifFIQA MLP hidden width. */
export const EDIFFIQA_HIDDEN = 1024;

/** The full-size backbone for a registry key. */
export function backboneSpecFor(name: string): BackboneSpec {
  switch (name) {
    case 'r18':
    case 'r50':
    case 'r100': {
      const c = IRESNET_CONFIGS[name];
      return { type: 'iresnet', iresnet: { layers: [...c.layers] as IResNetConfig['layers'], width: c.width, embeddingDim: c.embeddingDim, inputSize: c.inputSize } };
    }
    case 'mfn':
      return { type: 'mobilefacenet', mobilefacenet: { ...MFN_CONFIG } };
    case 'mobileface':
      return { type: 'mobileface' };
    default:
      throw new RegistryError('regressor backbone', name, BACKBONE_NAMES);
  }
}

/** State-dict key prefix of the backbone: `base.` (DifFIQA(R) Sequential) or `base_model.` (eDifFIQA wrapper). */
export function backbonePrefix(kind: RegressorKind): string {
  return kind === 'diffiqa-r' ? 'base.' : 'base_model.';
}

/** Side of the square input the backbone takes. */
export function inputSizeOf(b: BackboneSpec): number {
  return b.type === 'iresnet' ? b.iresnet.inputSize : 112;
}

/** Embedding length of the backbone. */
export function embeddingDimOf(b: BackboneSpec): number {
  if (b.type === 'iresnet') return b.iresnet.embeddingDim;
  if (b.type === 'mobilefacenet') return b.mobilefacenet.emb;
  return 256;
}

/** A short human label (`ediffiqa/r50`, `diffiqa-r/iresnet[2,1,1,1]x8`). */
export function describeSpec(spec: RegressorSpec): string {
  const b = spec.backbone;
  let name: string = b.type;
  if (b.type === 'iresnet') {
    const hit = (['r18', 'r50', 'r100'] as const).find((k) => IRESNET_CONFIGS[k].layers.join() === b.iresnet.layers.join() && b.iresnet.width === 64);
    name = hit ?? `iresnet[${b.iresnet.layers}]x${b.iresnet.width}`;
  } else if (b.type === 'mobilefacenet') {
    name = JSON.stringify(b.mobilefacenet) === JSON.stringify(MFN_CONFIG) ? 'mfn' : 'mobilefacenet-custom';
  }
  return `${spec.kind}/${name}`;
}

function dim(sd: ReadonlyMap<string, HostTensor>, key: string, axis: number, file: string): number {
  const t = sd.get(key);
  if (!t) throw new CheckpointError(file, key, 'missing: cannot infer the model structure');
  return t.shape[axis] as number;
}

/** Number of `${pre}.<i>.` sub-modules present in `keys`. */
function countBlocks(keys: readonly string[], pre: string): number {
  let n = 0;
  while (keys.some((k) => k.startsWith(`${pre}.${n}.`))) n++;
  return n;
}

function inferIResNet(sd: ReadonlyMap<string, HostTensor>, p: string, file: string): IResNetConfig {
  const keys = [...sd.keys()];
  const layers = [1, 2, 3, 4].map((i) => countBlocks(keys, `${p}layer${i}`)) as unknown as IResNetConfig['layers'];
  const width = dim(sd, `${p}conv1.weight`, 0, file);
  const embeddingDim = dim(sd, `${p}fc.weight`, 0, file);
  const fanIn = dim(sd, `${p}fc.weight`, 1, file);
  const side = Math.round(Math.sqrt(fanIn / (8 * width)));
  if (side * side * 8 * width !== fanIn) throw new CheckpointError(file, `${p}fc.weight`, `fan-in ${fanIn} is not 8*${width}*s^2`);
  // Any input side mapping to `side` after four stride-2 stages works; 16*side is the canonical one (112 -> 7).
  const inputSize = 16 * side;
  if (iresnetFinalSide(inputSize) !== side) throw new CheckpointError(file, `${p}fc.weight`, `no input size gives a ${side}x${side} map`);
  return { layers, width, embeddingDim, inputSize };
}

function inferMobileFaceNet(sd: ReadonlyMap<string, HostTensor>, p: string, file: string): MobileFaceNetConfig {
  const keys = [...sd.keys()];
  const out = (k: string): number => dim(sd, `${p}${k}`, 0, file);
  return {
    c1: out('conv1.conv.weight'),
    c2: out('conv_34.project.conv.weight'),
    g23: out('conv_23.conv.conv.weight'),
    g3: out('conv_3.model.0.conv.conv.weight'),
    g34: out('conv_34.conv.conv.weight'),
    g4: out('conv_4.model.0.conv.conv.weight'),
    g45: out('conv_45.conv.conv.weight'),
    g5: out('conv_5.model.0.conv.conv.weight'),
    n3: countBlocks(keys, `${p}conv_3.model`),
    n4: countBlocks(keys, `${p}conv_4.model`),
    n5: countBlocks(keys, `${p}conv_5.model`),
    sep: out('conv_6_sep.conv.weight'),
    emb: out('linear.weight'),
  };
}

/**
 * Reads the structure of a reference regressor state dict: `linear.*` means DifFIQA(R) (`base.*` backbone),
 * `mlp.l1.*` eDifFIQA (`base_model.*`); `conv_6_dw` means MobileFaceNet, `layer1.0` IResNet.
 * @throws CheckpointError naming the file when the keys fit neither layout
 */
export function inferSpecFromStateDict(sd: ReadonlyMap<string, HostTensor>, file: string): RegressorSpec {
  let kind: RegressorKind;
  if (sd.has('linear.weight')) kind = 'diffiqa-r';
  else if (sd.has('mlp.l1.weight')) kind = 'ediffiqa';
  else throw new CheckpointError(file, 'linear.weight|mlp.l1.weight', 'not a DifFIQA(R) or eDifFIQA state dict (no head found)');
  const p = backbonePrefix(kind);
  const hidden = kind === 'ediffiqa' ? dim(sd, 'mlp.l1.weight', 0, file) : EDIFFIQA_HIDDEN;
  let backbone: BackboneSpec;
  if (sd.has(`${p}conv_6_dw.conv.weight`)) backbone = { type: 'mobilefacenet', mobilefacenet: inferMobileFaceNet(sd, p, file) };
  else if (sd.has(`${p}layer1.0.conv1.weight`)) backbone = { type: 'iresnet', iresnet: inferIResNet(sd, p, file) };
  else throw new CheckpointError(file, `${p}*`, 'backbone is neither an IResNet nor a MobileFaceNet');
  return { kind, backbone, hidden };
}

/** Min-max range of the labels. */
export interface LabelRange {
  min: number;
  max: number;
}
