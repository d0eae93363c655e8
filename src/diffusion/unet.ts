/**
 * The DifFIQA UNet (METHOD §1.1): lucidrains' denoising-diffusion-pytorch `Unet` as modified by DifFIQA, as a
 * function over a ParamStore whose names are the reference module names, so `diff_pretrain.pt` loads by name.
 */
import { tf } from '../backend/tf.js';
import { convNamed } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { ShapeError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { fullAttention, linearAttention } from './attention.js';
import { downsample, layerNormNamed, resnetBlock, upsample } from './blocks.js';
import { timeMlp } from './time-embedding.js';
import { type UnetConfig, unetParamSpecs } from './unet-spec.js';

export { type UnetConfig, PAPER_UNET, countUnetParams, unetParamSpecs } from './unet-spec.js';

/** A UNet instance: its weights, its config and its forward function. Call dispose() when done. */
export interface Unet {
  readonly params: ParamStore;
  readonly config: Readonly<UnetConfig>;
  /**
   * Forward pass: x [B,H,W,channels] in [−1,1], t [B] integer timesteps → [B,H,W,channels] (an x0 prediction
   * for DifFIQA). Pure in its inputs and weights; wrap in tf.tidy (intermediates are freed when it returns).
   */
  apply(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D;
  dispose(): void;
}

/** Registers every UNet parameter in `params` with PyTorch's default initialisation. */
export function registerUnetParams(params: ParamStore, config: Readonly<UnetConfig>): void {
  for (const spec of unetParamSpecs(config)) {
    if ('uniform' in spec.init) params.addUniform(spec.name, spec.shape, spec.init.uniform, spec.kind);
    else params.addConst(spec.name, spec.shape, spec.init.constant);
  }
}

/**
 * A freshly initialised UNet for `config`, drawing initial weights from `rng`.
 * @example
 * const unet = createUnet({ ...PAPER_UNET, dim: 8, dimMults: [1, 2], resnetBlockGroups: 2, imageSize: 16 }, new Rng(0));
 * const y = tf.tidy(() => unet.apply(tf.zeros([2, 16, 16, 3]), tf.tensor1d([0, 5], 'int32'))); // [2,16,16,3]
 */
export function createUnet(config: Readonly<UnetConfig>, rng: Rng): Unet {
  const params = new ParamStore(rng);
  registerUnetParams(params, config);
  return {
    params,
    config,
    apply: (x, t) => applyUnet(params, config, x, t),
    dispose: () => params.dispose(),
  };
}

/** Residual(PreNorm(fn)) at `prefix`: x + fn(LayerNorm(x)). */
function residualPreNorm(p: ParamStore, prefix: string, x: tf.Tensor4D, fn: (h: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  return tf.add(fn(layerNormNamed(p, `${prefix}.fn.norm.g`, x)), x);
}

function checkInput(config: Readonly<UnetConfig>, x: tf.Tensor4D, t: tf.Tensor1D): void {
  const levels = config.dimMults.length;
  const f = 2 ** (levels - 1);
  const [b, h, w, c] = x.shape;
  if (x.rank !== 4 || c !== config.channels || h % f !== 0 || w % f !== 0) {
    throw new ShapeError("'x' passed to the UNet", `[B,H,W,${config.channels}] with H,W divisible by ${f}`, x.shape);
  }
  if (t.rank !== 1 || t.shape[0] !== b) throw new ShapeError("'t' passed to the UNet", `[${b}]`, t.shape);
}

/** The forward pass (reference `Unet.forward`, no self-conditioning). */
export function applyUnet(p: ParamStore, config: Readonly<UnetConfig>, x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
  checkInput(config, x, t);
  return tf.tidy(() => {
    const g = config.resnetBlockGroups;
    const n = config.dimMults.length;
    // Residual(PreNorm(LinearAttention)); the skip is added inside its final LayerNorm's pass.
    const linAttn = (prefix: string, h: tf.Tensor4D): tf.Tensor4D =>
      linearAttention(p, `${prefix}.fn.fn`, layerNormNamed(p, `${prefix}.fn.norm.g`, h), config.linearAttnHeads, h);
    let h = convNamed(p, 'init_conv', x, { padding: 3 });
    const r = h;
    const temb = timeMlp(p, t, config.dim);
    const skips: tf.Tensor4D[] = [];
    for (let i = 0; i < n; i++) {
      h = resnetBlock(p, `downs.${i}.0`, h, temb, g);
      skips.push(h);
      h = linAttn(`downs.${i}.2`, resnetBlock(p, `downs.${i}.1`, h, temb, g));
      skips.push(h);
      h = i < n - 1 ? downsample(p, `downs.${i}.3`, h) : convNamed(p, `downs.${i}.3`, h, { padding: 1 });
    }
    h = resnetBlock(p, 'mid_block1', h, temb, g);
    h = residualPreNorm(p, 'mid_attn', h, (z) =>
      fullAttention(p, 'mid_attn.fn.fn', z, config.fullAttnHeads, config.fixAttentionNorm),
    );
    h = resnetBlock(p, 'mid_block2', h, temb, g);
    for (let j = 0; j < n; j++) {
      // The block's input is the concatenation (x, skip), as the reference's torch.cat((x, h.pop()), dim=1), passed
      // as the pair: its convolutions read both maps in place (layers.conv2d).
      h = resnetBlock(p, `ups.${j}.0`, [h, skips.pop() as tf.Tensor4D], temb, g);
      h = resnetBlock(p, `ups.${j}.1`, [h, skips.pop() as tf.Tensor4D], temb, g);
      h = linAttn(`ups.${j}.2`, h);
      h = j < n - 1 ? upsample(p, `ups.${j}.3.1`, h) : convNamed(p, `ups.${j}.3`, h, { padding: 1 });
    }
    h = resnetBlock(p, 'final_res_block', [h, r], temb, g);
    return convNamed(p, 'final_conv', h);
  });
}
