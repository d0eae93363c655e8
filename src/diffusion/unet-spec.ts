/**
 * The UNet's configuration and its parameter list (names, tfjs shapes, initialisers) as pure data, so the
 * parameter count of a configuration can be known without allocating it (METHOD §1.1: 142.9 M for the paper).
 * Names are exactly the reference PyTorch module names (diff_unet.py `Unet` inside `GaussianDiffusion`
 * minus the leading `model.`), registered in the reference's state_dict order.
 */
import type { ParamKind } from '../nn/params.js';

/** UNet hyper-parameters (reference `unet_params` plus the attention widths it hard-codes). */
export interface UnetConfig {
  /** Base width; also the sinusoidal embedding width. time_dim = 4·dim. */
  readonly dim: number;
  /** Channel multipliers per level; level i works at dim·dimMults[i] after its transition conv. */
  readonly dimMults: readonly number[];
  /** Image channels in and out (3). */
  readonly channels: number;
  /** GroupNorm groups inside ResNet blocks (8). */
  readonly resnetBlockGroups: number;
  /** Training/inference image side (112); must be divisible by 2^(levels-1). */
  readonly imageSize: number;
  readonly linearAttnHeads: number;
  readonly linearAttnDimHead: number;
  readonly fullAttnHeads: number;
  readonly fullAttnDimHead: number;
  /**
   * false (default, reference-compatible): the bottleneck attention L2-normalises q and k along the spatial
   * axis (the upstream quirk, METHOD §1.1). true: normalise along the feature axis (the evident intent);
   * weights trained one way are not valid the other way.
   */
  readonly fixAttentionNorm: boolean;
}

/** The paper configuration (METHOD §1.1). */
export const PAPER_UNET: UnetConfig = {
  dim: 128,
  dimMults: [1, 2, 4, 8],
  channels: 3,
  resnetBlockGroups: 8,
  imageSize: 112,
  linearAttnHeads: 4,
  linearAttnDimHead: 32,
  fullAttnHeads: 4,
  fullAttnDimHead: 32,
  fixAttentionNorm: false,
};

/** How a parameter is initialised: PyTorch's default uniform(±1/√fanIn), or a constant. */
export type ParamInit = { uniform: number } | { constant: number };

/** One parameter: tfjs-layout shape, layout kind, initialiser. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: number[];
  readonly kind: ParamKind;
  readonly init: ParamInit;
}

/** Channel widths per level: dims[0] = dim (init_dim), dims[i+1] = dim·dimMults[i]. */
export function levelDims(config: Readonly<UnetConfig>): number[] {
  return [config.dim, ...config.dimMults.map((m) => config.dim * m)];
}

/** The reference's time embedding width (4·dim). */
export function timeDim(config: Readonly<UnetConfig>): number {
  return config.dim * 4;
}

class SpecList {
  readonly specs: ParamSpec[] = [];

  conv(prefix: string, k: number, cin: number, cout: number, bias = true): void {
    const bound = 1 / Math.sqrt(cin * k * k);
    this.specs.push({ name: `${prefix}.weight`, shape: [k, k, cin, cout], kind: 'conv', init: { uniform: bound } });
    if (bias) this.specs.push({ name: `${prefix}.bias`, shape: [cout], kind: 'plain', init: { uniform: bound } });
  }

  linear(prefix: string, fanIn: number, fanOut: number): void {
    const bound = 1 / Math.sqrt(fanIn);
    this.specs.push({ name: `${prefix}.weight`, shape: [fanIn, fanOut], kind: 'linear', init: { uniform: bound } });
    this.specs.push({ name: `${prefix}.bias`, shape: [fanOut], kind: 'plain', init: { uniform: bound } });
  }

  constant(name: string, shape: number[], value: number): void {
    this.specs.push({ name, shape, kind: 'plain', init: { constant: value } });
  }

  /** ResnetBlock: mlp.1 (time → 2·cout), block1/2 (WS conv 3x3 + GroupNorm), res_conv when cin ≠ cout. */
  resnet(prefix: string, cin: number, cout: number, tdim: number): void {
    this.linear(`${prefix}.mlp.1`, tdim, cout * 2);
    this.conv(`${prefix}.block1.proj`, 3, cin, cout);
    this.constant(`${prefix}.block1.norm.weight`, [cout], 1);
    this.constant(`${prefix}.block1.norm.bias`, [cout], 0);
    this.conv(`${prefix}.block2.proj`, 3, cout, cout);
    this.constant(`${prefix}.block2.norm.weight`, [cout], 1);
    this.constant(`${prefix}.block2.norm.bias`, [cout], 0);
    if (cin !== cout) this.conv(`${prefix}.res_conv`, 1, cin, cout);
  }

  /** Residual(PreNorm(LinearAttention)): fn.fn.to_qkv, fn.fn.to_out.0 (conv), fn.fn.to_out.1.g, fn.norm.g. */
  linearAttention(prefix: string, c: number, hidden: number): void {
    this.conv(`${prefix}.fn.fn.to_qkv`, 1, c, hidden * 3, false);
    this.conv(`${prefix}.fn.fn.to_out.0`, 1, hidden, c);
    // LayerNorm gains keep PyTorch's [1,C,1,1] shape so checkpoints round-trip by name and shape.
    this.constant(`${prefix}.fn.fn.to_out.1.g`, [1, c, 1, 1], 1);
    this.constant(`${prefix}.fn.norm.g`, [1, c, 1, 1], 1);
  }

  /** Residual(PreNorm(Attention)): fn.fn.to_qkv, fn.fn.to_out (conv), fn.norm.g. */
  fullAttention(prefix: string, c: number, hidden: number): void {
    this.conv(`${prefix}.fn.fn.to_qkv`, 1, c, hidden * 3, false);
    this.conv(`${prefix}.fn.fn.to_out`, 1, hidden, c);
    this.constant(`${prefix}.fn.norm.g`, [1, c, 1, 1], 1);
  }
}

/** Every parameter of the UNet in the reference state_dict order (METHOD §1.1 level layout). */
export function unetParamSpecs(config: Readonly<UnetConfig>): ParamSpec[] {
  const l = new SpecList();
  const dims = levelDims(config);
  const tdim = timeDim(config);
  const n = config.dimMults.length;
  const linHidden = config.linearAttnHeads * config.linearAttnDimHead;
  l.conv('init_conv', 7, config.channels, config.dim);
  l.linear('time_mlp.1', config.dim, tdim);
  l.linear('time_mlp.3', tdim, tdim);
  for (let i = 0; i < n; i++) {
    const [cin, cout] = [dims[i] as number, dims[i + 1] as number];
    l.resnet(`downs.${i}.0`, cin, cin, tdim);
    l.resnet(`downs.${i}.1`, cin, cin, tdim);
    l.linearAttention(`downs.${i}.2`, cin, linHidden);
    // Levels 0..n-2 downsample with a 4x4 stride-2 conv; the last level only widens with a 3x3 conv.
    l.conv(`downs.${i}.3`, i < n - 1 ? 4 : 3, cin, cout);
  }
  for (let j = 0; j < n; j++) {
    const i = n - 1 - j;
    const [cin, cout] = [dims[i] as number, dims[i + 1] as number];
    l.resnet(`ups.${j}.0`, cout + cin, cout, tdim);
    l.resnet(`ups.${j}.1`, cout + cin, cout, tdim);
    l.linearAttention(`ups.${j}.2`, cout, linHidden);
    // Sequential(Upsample, Conv) except on the last level, which is a bare conv.
    l.conv(j < n - 1 ? `ups.${j}.3.1` : `ups.${j}.3`, 3, cout, cin);
  }
  // The reference registers `ups` before the mid blocks (both ModuleLists are created first).
  const mid = dims[n] as number;
  l.resnet('mid_block1', mid, mid, tdim);
  l.fullAttention('mid_attn', mid, config.fullAttnHeads * config.fullAttnDimHead);
  l.resnet('mid_block2', mid, mid, tdim);
  l.resnet('final_res_block', config.dim * 2, config.dim, tdim);
  l.conv('final_conv', 1, config.dim, config.channels);
  return l.specs;
}

/** Number of scalars in a configuration, without allocating it. */
export function countUnetParams(config: Readonly<UnetConfig>): number {
  return unetParamSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
