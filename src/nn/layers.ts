/**
 * Stateless layer functions shared by every network (tensors in, tensors out, NHWC). Weights come from a
 * ParamStore by name; callers own tf.tidy. Padding follows PyTorch semantics: an explicit symmetric pad
 * (e.g. 1 for a stride-2 3x3 conv) is NOT the same as TF 'same' on even inputs (METHOD §9).
 */
import { concatConv2d } from '../backend/ops/concat-conv.js';
import { silu as siluOp } from '../backend/ops/unet-ops.js';
import { tf } from '../backend/tf.js';
import type { ParamStore } from './params.js';

/** PyTorch-style padding: a number (all sides), [top,bottom,left,right], or 'valid'. */
export type Padding = number | readonly [number, number, number, number] | 'valid';

export interface ConvOptions {
  stride?: number;
  padding?: Padding;
  dilation?: number;
}

/** Converts PyTorch-style padding into what tf.conv2d accepts. */
export function tfPadding(p: Padding | undefined): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p === undefined || p === 'valid' || p === 0) return 'valid';
  const [t, b, l, r] = typeof p === 'number' ? [p, p, p, p] : p;
  return [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ];
}

/** A convolution's input: one map, or two whose channel concatenation it is (the UNet's (x, skip)). */
export type ConvInput = tf.Tensor4D | readonly [tf.Tensor4D, tf.Tensor4D];

/**
 * 2-D convolution with weight [kh,kw,cin,cout] and optional bias [cout]. A pair of maps (stride and dilation 1) is
 * convolved as their channel concatenation, which on `native` is never stored (src/backend/ops/concat-conv.ts).
 */
export function conv2d(x: ConvInput, w: tf.Tensor4D, b: tf.Tensor1D | null, opts: ConvOptions = {}): tf.Tensor4D {
  const stride = opts.stride ?? 1;
  const dilation = opts.dilation ?? 1;
  const pad = tfPadding(opts.padding);
  if (isPair(x)) {
    if (stride !== 1 || dilation !== 1) throw new Error('conv2d of a map pair: stride and dilation must be 1');
    return concatConv2d(x[0], x[1], w, b, pad);
  }
  if (b) {
    return tf.fused.conv2d({ x, filter: w, strides: stride, pad, dilations: dilation, bias: b });
  }
  return tf.conv2d(x, w, stride, pad, 'NHWC', dilation);
}

function isPair(x: ConvInput): x is readonly [tf.Tensor4D, tf.Tensor4D] {
  return Array.isArray(x);
}

/** Conv with the weights `${prefix}.weight` (+ `${prefix}.bias` when registered). */
export function convNamed(p: ParamStore, prefix: string, x: ConvInput, opts: ConvOptions = {}): tf.Tensor4D {
  const b = p.has(`${prefix}.bias`) ? (p.get(`${prefix}.bias`) as tf.Tensor1D) : null;
  return conv2d(x, p.get(`${prefix}.weight`) as tf.Tensor4D, b, opts);
}

/**
 * Inference-only `${conv}` followed by BatchNorm `${bn}` with its running statistics (and PReLU `${prelu}` when
 * given) as one fused conv: the BN is folded into the weights (w·γ/√(σ²+ε) per output channel) and a bias
 * (β − μ·γ/√(σ²+ε)), which saves one or two passes over a large activation. Equal to the unfused layers up to
 * float rounding; training mode must use the separate layers (batch statistics, running-stat updates).
 */
export function convBnNamed(
  p: ParamStore,
  names: { conv: string; bn: string; prelu?: string },
  x: tf.Tensor4D,
  opts: ConvOptions = {},
  eps = 1e-5,
): tf.Tensor4D {
  const deps = [`${names.conv}.weight`, `${names.conv}.bias`, `${names.bn}.running_mean`, `${names.bn}.running_var`, `${names.bn}.weight`, `${names.bn}.bias`]
    .filter((n) => p.has(n))
    .map((n) => p.get(n));
  // The folded weights are cached in the store until a parameter changes: folding costs ~0.45 ms per IResNet-50
  // conv, a tenth of a batch-1 forward.
  const [filter, bias] = p.derived(`fold:${names.conv}:${names.bn}:${eps}`, deps, () => {
    const mean = p.get(`${names.bn}.running_mean`);
    const gamma = p.has(`${names.bn}.weight`) ? p.get(`${names.bn}.weight`) : tf.onesLike(mean);
    const beta = p.has(`${names.bn}.bias`) ? p.get(`${names.bn}.bias`) : tf.zerosLike(mean);
    const k = tf.div(gamma, tf.sqrt(tf.add(p.get(`${names.bn}.running_var`), eps)));
    let b = tf.sub(beta, tf.mul(mean, k));
    if (p.has(`${names.conv}.bias`)) b = tf.add(b, tf.mul(p.get(`${names.conv}.bias`), k));
    return [tf.mul(p.get(`${names.conv}.weight`), k), b];
  }) as [tf.Tensor4D, tf.Tensor1D];
  return tf.fused.conv2d({
    x,
    filter,
    strides: opts.stride ?? 1,
    pad: tfPadding(opts.padding),
    dilations: opts.dilation ?? 1,
    bias,
    activation: names.prelu ? 'prelu' : 'linear',
    preluActivationWeights: names.prelu ? p.get(`${names.prelu}.weight`) : undefined,
  });
}

/** Depthwise conv with weight [kh,kw,c,1] named `${prefix}.weight`. */
export function depthwiseNamed(p: ParamStore, prefix: string, x: tf.Tensor4D, opts: ConvOptions = {}): tf.Tensor4D {
  const w = p.get(`${prefix}.weight`) as tf.Tensor4D;
  const bias = p.has(`${prefix}.bias`) ? (p.get(`${prefix}.bias`) as tf.Tensor1D) : undefined;
  const pad = tfPadding(opts.padding);
  // tf.fused.depthwiseConv2d takes no explicit padding, so pad first and run 'valid'.
  const xp = pad === 'valid' ? x : tf.pad(x, pad);
  return tf.fused.depthwiseConv2d({
    x: xp,
    filter: w,
    strides: opts.stride ?? 1,
    pad: 'valid',
    dilations: opts.dilation ?? 1,
    bias,
  });
}

/** Dense layer over the last axis: x [..., in] @ w [in,out] + b. */
export function linearNamed(p: ParamStore, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  const w = p.get(`${prefix}.weight`) as tf.Tensor2D;
  const bias = p.has(`${prefix}.bias`) ? (p.get(`${prefix}.bias`) as tf.Tensor1D) : undefined;
  return tf.fused.matMul({ a: x, b: w, bias }) as tf.Tensor2D;
}

/**
 * BatchNorm over the last axis. In training mode it normalises with batch statistics and updates the
 * running buffers in place (momentum 0.1, unbiased running variance, as PyTorch); in eval mode it uses them.
 */
export function batchNormNamed(p: ParamStore, prefix: string, x: tf.Tensor, training: boolean, eps = 1e-5): tf.Tensor {
  const runMean = p.get(`${prefix}.running_mean`);
  const runVar = p.get(`${prefix}.running_var`);
  const gamma = p.has(`${prefix}.weight`) ? p.get(`${prefix}.weight`) : undefined;
  const beta = p.has(`${prefix}.bias`) ? p.get(`${prefix}.bias`) : undefined;
  if (!training) return tf.batchNorm(x, runMean, runVar, beta, gamma, eps);
  const axes = [...Array(x.rank - 1).keys()];
  const { mean, variance } = tf.moments(x, axes);
  const n = x.size / (x.shape[x.rank - 1] as number);
  tf.tidy(() => {
    const unbiased = variance.mul(n / Math.max(n - 1, 1));
    // Buffer updates are assignments, so no gradient flows through them.
    runMean.assign(runMean.mul(0.9).add(mean.mul(0.1)));
    runVar.assign(runVar.mul(0.9).add(unbiased.mul(0.1)));
  });
  return tf.batchNorm(x, mean, variance, beta, gamma, eps);
}

/** Per-channel PReLU with slopes `${prefix}.weight` [c]. */
export function preluNamed(p: ParamStore, prefix: string, x: tf.Tensor): tf.Tensor {
  return tf.prelu(x, p.get(`${prefix}.weight`));
}

/** SiLU (x * sigmoid(x)): one fused kernel where the backend has it (src/backend/ops/unet-ops.ts). */
export function silu(x: tf.Tensor): tf.Tensor {
  return siluOp(x);
}

/** Exact (erf) GELU, as torch.nn.GELU() default. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}
