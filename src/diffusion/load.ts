/**
 * Loading a trained DifFIQA diffusion UNet. Two formats, chosen by the file's first bytes:
 * - a reference `torch.save` checkpoint (`diff_pretrain.pt`, METHOD §1.5): a dict {step, model, opt, ema, scaler}
 *   whose `model` is the GaussianDiffusion state_dict (UNet under `model.`) and whose `ema` is the ema-pytorch
 *   state_dict (EMA UNet under `ema_model.model.`); a bare UNet state_dict also works;
 * - our safetensors export: reference names and PyTorch layouts, with the UnetConfig as JSON in
 *   `__metadata__.unet` and the format version in `__metadata__.formatVersion` (absent, as in the shipped
 *   `models/diffusion-cpu-small.safetensors`, means version 1; a newer one is refused, src/util/format-version.ts);
 * - a training run folder (its latest checkpoint) or one `ckpt-*` folder: `model.safetensors` / `ema.safetensors`
 *   (reference names, PyTorch layouts) with the resolved config in `state.json`.
 * The UNet config is inferred from the weight shapes unless given (GroupNorm groups and the image size cannot
 * be inferred: they default to the reference's 8 and 112).
 */
import * as fs from 'node:fs';
import { tf } from '../backend/tf.js';
import { type HostTensor, type ParamKind, ParamStore, fromTorchLayout } from '../nn/params.js';
import { latestCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { decodeTorchFile, getField, stateDictFrom } from '../io/torch-file.js';
import { CheckpointError } from '../util/errors.js';
import { FORMATS, checkFormatVersion, versionMetadata } from '../util/format-version.js';
import { Rng } from '../util/rng.js';
import { type Unet, applyUnet } from './unet.js';
import { PAPER_UNET, type UnetConfig, unetParamSpecs } from './unet-spec.js';

/** A loaded diffusion model: the UNet and its x0 prediction. Call dispose() when done. */
export interface DiffusionModel {
  readonly unet: Unet;
  /** x̂0 = UNet(x_t, t) (the reference's `objective: pred_x0`): x [B,H,W,3] in [−1,1], t [B] int. */
  predictX0(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D;
  dispose(): void;
}

export interface LoadDiffusionOptions {
  /** Load the EMA weights instead of the raw ones (the released inference script uses the raw ones, METHOD §2.4). */
  ema?: boolean;
  /** Overrides for config fields that cannot be inferred (resnetBlockGroups, imageSize, attention heads). */
  config?: Partial<UnetConfig>;
}

/** Loads a diffusion UNet from a reference .pt checkpoint or our safetensors export. */
export function loadDiffusion(path: string, opts: LoadDiffusionOptions = {}): DiffusionModel {
  if (fs.existsSync(path) && fs.statSync(path).isDirectory()) return fromModel(readRunUnet(path, opts), path);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw new CheckpointError(path, '', `cannot read: ${(err as Error).message}`);
  }
  const { state, config } = bytes[0] === 0x50 && bytes[1] === 0x4b ? readTorchUnet(bytes, path, opts) : readSafetensorsUnet(bytes, path, opts);
  return fromModel({ state, config }, path);
}

function fromModel({ state, config }: { state: Map<string, HostTensor>; config: UnetConfig }, path: string): DiffusionModel {
  const unet = unetFromTorchState(state, config, path);
  return { unet, predictX0: (x, t) => unet.apply(x, t), dispose: () => unet.dispose() };
}

/** A run folder (latest checkpoint) or a checkpoint folder written by the trainer (src/train/trainer.ts). */
function readRunUnet(dir: string, opts: LoadDiffusionOptions): { state: Map<string, HostTensor>; config: UnetConfig } {
  const ckptDir = fs.existsSync(`${dir}/state.json`) ? dir : latestCheckpoint(dir);
  if (!ckptDir) throw new CheckpointError(dir, '', 'not a checkpoint: no state.json and no latest.json (has the run saved a checkpoint yet?)');
  const ckpt = loadCheckpoint<{ config?: { unet?: UnetConfig } }>(ckptDir);
  const stem = opts.ema ? 'ema' : 'model';
  const state = ckpt.tensors[stem];
  if (!state) throw new CheckpointError(ckptDir, stem, `checkpoint has no ${stem}.safetensors`);
  const stored = ckpt.state.config?.unet;
  if (!stored) throw new CheckpointError(`${ckptDir}/state.json`, 'state.config.unet', 'missing UNet config');
  return { state, config: { ...stored, ...opts.config } };
}

function readTorchUnet(bytes: Uint8Array, file: string, opts: LoadDiffusionOptions): { state: Map<string, HostTensor>; config: UnetConfig } {
  const root = decodeTorchFile(bytes, file);
  let state: Map<string, HostTensor>;
  if (opts.ema) {
    const ema = getField(root, 'ema');
    if (ema === undefined) throw new CheckpointError(file, 'ema', 'checkpoint has no EMA state');
    state = stateDictFrom(ema, 'ema_model.model.', file);
  } else {
    const model = getField(root, 'model');
    state = model !== undefined ? stateDictFrom(model, 'model.', file) : stateDictFrom(root, '', file);
  }
  return { state, config: { ...inferUnetConfig(state, file), ...opts.config } };
}

function readSafetensorsUnet(bytes: Uint8Array, file: string, opts: LoadDiffusionOptions): { state: Map<string, HostTensor>; config: UnetConfig } {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  checkFormatVersion('unet', file, metadata.formatVersion, metadata.diffiqaVersion);
  let stored: Partial<UnetConfig> = {};
  if (metadata.unet !== undefined) {
    try {
      stored = JSON.parse(metadata.unet) as Partial<UnetConfig>;
    } catch (err) {
      throw new CheckpointError(file, '__metadata__.unet', `invalid JSON: ${(err as Error).message}`);
    }
  }
  return { state: tensors, config: { ...inferUnetConfig(tensors, file), ...stored, ...opts.config } };
}

function shapeOf(state: ReadonlyMap<string, HostTensor>, name: string, file: string): number[] {
  const t = state.get(name);
  if (!t) throw new CheckpointError(file, name, 'missing from the UNet state dict');
  return t.shape;
}

/**
 * The UnetConfig implied by a reference UNet state dict (PyTorch layouts): dim from init_conv, dimMults from
 * the level transition convs `downs.i.3`, attention widths from to_qkv with the reference's fixed 4 heads.
 */
export function inferUnetConfig(state: ReadonlyMap<string, HostTensor>, file = '<state dict>'): UnetConfig {
  const [dim, channels] = shapeOf(state, 'init_conv.weight', file) as [number, number];
  const dimMults: number[] = [];
  for (let i = 0; state.has(`downs.${i}.3.weight`); i++) dimMults.push((shapeOf(state, `downs.${i}.3.weight`, file)[0] as number) / dim);
  if (dimMults.length === 0) throw new CheckpointError(file, 'downs.0.3.weight', 'missing: cannot infer the UNet levels');
  const linHidden = (shapeOf(state, 'downs.0.2.fn.fn.to_qkv.weight', file)[0] as number) / 3;
  const fullHidden = (shapeOf(state, 'mid_attn.fn.fn.to_qkv.weight', file)[0] as number) / 3;
  const heads = PAPER_UNET.linearAttnHeads;
  return {
    ...PAPER_UNET,
    dim,
    channels,
    dimMults,
    linearAttnHeads: heads,
    linearAttnDimHead: linHidden / heads,
    fullAttnHeads: heads,
    fullAttnDimHead: fullHidden / heads,
  };
}

/**
 * Builds a UNet whose weights are the given reference state dict (PyTorch layouts, reference names). Every
 * parameter of `config` must be present with the right shape and no other tensor may be present.
 * @throws CheckpointError naming the offending key.
 */
export function unetFromTorchState(state: ReadonlyMap<string, HostTensor>, config: Readonly<UnetConfig>, file = '<state dict>'): Unet {
  const params = new ParamStore(new Rng(0));
  try {
    const specs = unetParamSpecs(config);
    const known = new Set(specs.map((s) => s.name));
    const extra = [...state.keys()].find((k) => !known.has(k));
    if (extra !== undefined) throw new CheckpointError(file, extra, 'unexpected key for this UNet config');
    for (const spec of specs) {
      const t = state.get(spec.name);
      if (!t) throw new CheckpointError(file, spec.name, 'missing from the UNet state dict');
      const host = toTfjsLayout(t, spec.kind, spec.name, file);
      if (host.shape.join() !== spec.shape.join()) {
        throw new CheckpointError(file, spec.name, `shape [${t.shape}] does not match the config (tfjs [${spec.shape}])`);
      }
      params.add(spec.name, spec.shape, host.data, spec.kind);
    }
  } catch (err) {
    params.dispose();
    throw err;
  }
  return { params, config, apply: (x, t) => applyUnet(params, config, x, t), dispose: () => params.dispose() };
}

/**
 * PyTorch → tfjs layout with direct loops for conv (OIHW → HWIO) and linear ([out,in] → [in,out]) weights:
 * the generic permuteHost costs ~0.2 µs per element, i.e. tens of seconds for the 142.9 M paper UNet.
 */
function toTfjsLayout(t: HostTensor, kind: ParamKind, name: string, file: string): HostTensor {
  if (kind === 'conv' && t.shape.length === 4) {
    const [o, i, kh, kw] = t.shape as [number, number, number, number];
    const src = t.data;
    const out = new Float32Array(src.length);
    let s = 0;
    for (let a = 0; a < o; a++)
      for (let b = 0; b < i; b++)
        for (let h = 0; h < kh; h++)
          for (let w = 0; w < kw; w++) out[((h * kw + w) * i + b) * o + a] = src[s++] as number;
    return { shape: [kh, kw, i, o], data: out };
  }
  if (kind === 'linear' && t.shape.length === 2) {
    const [o, i] = t.shape as [number, number];
    const out = new Float32Array(t.data.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = t.data[a * i + b] as number;
    return { shape: [i, o], data: out };
  }
  return fromTorchLayout(t, kind, name, file);
}

/**
 * Serialises a UNet as safetensors bytes (reference names and layouts, config in `__metadata__.unet`, format and
 * diffiqa versions in `__metadata__.formatVersion` / `.diffiqaVersion`). `metadata` adds provenance (step, source).
 */
export function encodeUnetSafetensors(unet: Unet, metadata: Record<string, string> = {}): Uint8Array {
  return encodeSafetensors(unet.params.toTorchStateDict(), {
    ...metadata,
    format: FORMATS.unet.name,
    ...versionMetadata('unet'),
    unet: JSON.stringify(unet.config),
  });
}
