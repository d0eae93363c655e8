/**
 * The native addon's interface and its one-time loader (STYLE.md §2.6). The addon is built by
 * scripts/build-native.mjs into build/Release/diffiqa_native.node; every entry takes Float32Arrays that tfjs's cpu
 * data storage owns (inputs) or that the TS kernel allocated (outputs), so nothing is copied.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendError, describeError } from '../util/errors.js';

/** 15 integers: batch, inH, inW, inC, outH, outW, outC, fH, fW, strideH, strideW, dilH, dilW, padTop, padLeft. */
export type ConvGeometry = readonly number[];
/** m, n, k, transposeA (0/1), transposeB (0/1). */
export type MatMulDims = readonly number[];
/** batch, pixels (H*W), channels, groups. */
export type GroupNormDims = readonly number[];
type F32 = Float32Array;
type OptF32 = Float32Array | null;
type Words = Float32Array | Int32Array;

/** Exports of build/Release/diffiqa_native.node (src/backend/native/addon.cc). Errors are thrown as JS Errors. */
export interface NativeAddon {
  /** Pool threads, the instruction set in use, and the argument-list version (NATIVE_INTERFACE; absent before 2). */
  info(): { threads: number; isa: string; interface?: number };
  /** Selects the instruction set of every kernel ('avx512' | 'avx2' | 'portable' | 'auto'); returns the one now in use. */
  setIsa(isa: string): string;
  conv2d(x: F32, filter: F32, out: F32, geom: ConvGeometry): void;
  fusedConv2d(x: F32, filter: F32, out: F32, geom: ConvGeometry, bias: OptF32, act: number, alpha: OptF32, leaky: number): void;
  /** fusedConv2d on the channel concatenation of a and b (geom's inC = their channel counts' sum), never stored. */
  fusedConv2dConcat(a: F32, b: F32, filter: F32, out: F32, geom: ConvGeometry, bias: OptF32, act: number, alpha: OptF32, leaky: number): void;
  conv2dBackpropInput(dy: F32, filter: F32, dx: F32, geom: ConvGeometry): void;
  conv2dBackpropFilter(x: F32, dy: F32, dw: F32, geom: ConvGeometry): void;
  depthwiseConv2d(x: F32, filter: F32, out: F32, geom: ConvGeometry): void;
  fusedDepthwiseConv2d(x: F32, filter: F32, out: F32, geom: ConvGeometry, bias: OptF32, act: number, alpha: OptF32, leaky: number): void;
  depthwiseConv2dBackpropInput(dy: F32, filter: F32, dx: F32, geom: ConvGeometry): void;
  depthwiseConv2dBackpropFilter(x: F32, dy: F32, dw: F32, geom: ConvGeometry): void;
  batchMatMul(a: F32, b: F32, out: F32, dims: MatMulDims, aIndex: Int32Array, bIndex: Int32Array): void;
  fusedBatchMatMul(a: F32, b: F32, out: F32, dims: MatMulDims, aIndex: Int32Array, bIndex: Int32Array, bias: OptF32, act: number, alpha: OptF32, leaky: number): void;
  groupNorm(x: F32, gamma: F32, beta: F32, y: F32, mean: F32, rstd: F32, dims: GroupNormDims, eps: number): void;
  groupNormGrad(dy: F32, x: F32, gamma: F32, mean: F32, rstd: F32, dx: F32, dgamma: F32, dbeta: F32, dims: GroupNormDims, eps: number): void;
  /** out = a (op) b over a collapsed broadcast; innermost strides must be 0 or 1 (BINARY_OP_CODES). */
  binaryOp(op: number, a: F32, b: F32, out: F32, shape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
  /** out = op(x) elementwise (UNARY_OP_CODES). */
  unaryOp(op: number, x: F32, out: F32): void;
  /** One Adam update (src/backend/ops/adam.ts); scalars = gradScale, beta1, 1-beta1, beta2, 1-beta2, bc2, eps, lr/bc1 as float32. */
  adamUpdate(p: F32, g: F32, m: F32, v: F32, scalars: F32, pOut: F32, mOut: F32, vOut: F32): void;
  /**
   * Draws `pairs` Box-Muller pairs per RC4 generator, in parallel, as Rng.normalArray does; states holds each
   * generator's S[256], i, j (258 bytes) and is advanced in place; out gets 2 x pairs normals per generator. Returns
   * (index, u, v) for the pairs whose doubles lie within `guard` ulps (default 1024) of a float32 rounding boundary,
   * for JS to recompute with V8's Math (native/random.h, src/util/rng.ts).
   */
  arc4Normals(states: Uint8Array, pairs: number, out: Float32Array, guard?: number): Float64Array;
  /** LinearAttention of x [B·N, C] times w [C, 3·H·D] (a 1x1 conv), projected block by block; dims = [B, N, H, D]. */
  linearAttentionProjected(x: F32, w: F32, out: F32, dims: readonly number[], channels: number): void;
  /** linearAttentionProjected, then the 1x1 conv wo [C·, C'] + bias, the channel norm with gain g and the residual, block by block. */
  linearAttentionBlock(
    x: F32, w: F32, wo: F32, bias: F32 | null, g: F32, residual: F32 | null, out: F32, dims: readonly number[], channels: number, outChannels: number, eps: number,
  ): void;
  /** out[o, i] = sum (or mean) over r of x[o, r, i]; dims = [outer, reduced, inner]. */
  reduceSum(x: F32, out: F32, dims: readonly number[], mean: boolean): void;
  /**
   * dst[dstOffset + Σ i·dstStrides] = src[srcOffset + Σ i·srcStrides] over `shape` (rank 1..16, element strides,
   * negative = reversed, 0 = broadcast); 32-bit words, so float32 and int32 arrays copy bit-exactly.
   */
  stridedCopy(src: Words, srcOffset: number, dst: Words, dstOffset: number, shape: readonly number[], srcStrides: readonly number[], dstStrides: readonly number[]): void;
  /** out row r = row r of each input in turn (an input's row width is its length / rows), in one pass (Concat). */
  concatRows(inputs: readonly Words[], out: Words, rows: number): void;
  /** Softmax over the last axis of a [rows, cols] view. */
  softmax(x: F32, out: F32, rows: number, cols: number): void;
  /** out[b, y, x, :] = x[b, rowIdx[y], colIdx[x], :]; dims = batch, inH, inW, channels, outH, outW. */
  resizeNearest(x: F32, out: F32, dims: readonly number[], rowIdx: Int32Array, colIdx: Int32Array): void;
  /** dx[b, r, c, :] = Σ dy[b, y, x, :] over y in rowList[rowPtr[r]..rowPtr[r+1]), x likewise; dims = batch, xH, xW, ch, yH, yW. */
  resizeNearestGrad(dy: F32, dx: F32, dims: readonly number[], rowPtr: Int32Array, rowList: Int32Array, colPtr: Int32Array, colList: Int32Array): void;
  /** out = pow(a, b) over a collapsed broadcast (rank 1..8, element strides, 0 = broadcast), in double. */
  pow(a: F32, b: F32, out: F32, shape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
  /** out[i] = x[i] < 0 ? alpha[i % alpha.length] * x[i] : x[i]. */
  prelu(x: F32, alpha: F32, out: F32): void;
  /** dx = x > 0 ? dy : alpha * dy; dalpha[j] = Σ (x > 0 ? 0 : dy * x) over the elements using alpha[j]. */
  preluGrad(x: F32, dy: F32, alpha: F32, dx: F32, dalpha: F32): void;
  /** out[i] = a[i] > b[i or 0] as 0/1 bytes (b has one value or a's length). */
  greater(a: F32, b: F32, out: Uint8Array): void;
  /** out[i] = cond[i] === 1 ? t[i] : e[i], all one length. */
  select(cond: Uint8Array, t: Words, e: Words, out: Words): void;
  /** out[i] = offset + (x[i] - mean) * scale / sqrt(variance + eps), each parameter indexed modulo its length, in double. */
  fusedBatchNorm(x: F32, mean: F32, variance: F32, scale: OptF32, offset: OptF32, varianceEpsilon: number, out: F32): void;
  /** y = silu(groupNorm(x) * (1 + filmScale[b, c]) + filmShift[b, c]); film arrays [batch, channels]. */
  groupNormFilmSilu(x: F32, gamma: F32, beta: F32, filmScale: F32, filmShift: F32, y: F32, mean: F32, rstd: F32, dims: GroupNormDims, eps: number, residual: F32 | null): void;
  /** y = x * sigmoid(x). */
  silu(x: F32, y: F32): void;
  /** dx = dy * d(silu)/dx. */
  siluGrad(dy: F32, x: F32, dx: F32): void;
  /** Per row of `channels`: y = (x - mean) / sqrt(var + eps) * g (biased variance); saves mean and rstd per row. */
  channelNorm(x: F32, g: F32, y: F32, mean: F32, rstd: F32, channels: number, eps: number, residual: F32 | null): void;
  channelNormGrad(dy: F32, x: F32, g: F32, mean: F32, rstd: F32, dx: F32, dg: F32, channels: number): void;
  /** LinearAttention core over qkv [B, N, 3*H*D] -> out [B, N, H*D]; dims = [B, N, H, D] (src/backend/native/unet_ops.h). */
  linearAttention(qkv: F32, out: F32, dims: readonly number[]): void;
  linearAttentionGrad(dout: F32, qkv: F32, dqkv: F32, dims: readonly number[]): void;
  /** out = softmax(scale * q k^T) v per group; q, k, v, out [G, N, D]; dims = [G, N, D]. */
  attention(q: F32, k: F32, v: F32, out: F32, dims: readonly number[], scale: number): void;
  attentionGrad(q: F32, k: F32, v: F32, dout: F32, dq: F32, dk: F32, dv: F32, dims: readonly number[], scale: number): void;
}

/** Binary op codes (src/backend/native/elementwise.h). */
export const BINARY_OP_CODES = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
/** Unary op codes (src/backend/native/elementwise.h). */
export const UNARY_OP_CODES = { Sigmoid: 0, Exp: 1, Square: 2, Sqrt: 3, Rsqrt: 4, Neg: 5, Relu: 6, Tanh: 7, Log: 8, Abs: 9, Erf: 10 } as const;

/** Activation codes understood by the addon (src/backend/native/epilogue.h). */
export const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  prelu: 4,
  leakyrelu: 5,
  sigmoid: 6,
};

const ADDON_FILE = join('build', 'Release', 'diffiqa_native.node');

/** The addon argument lists these bindings call (addon.cc kInterface): an addon built from other sources is refused. */
export const NATIVE_INTERFACE = 2;

/** Why an addon reporting `info` cannot serve these bindings, or undefined when it can. */
export function interfaceMismatch(file: string, info: { interface?: number }): string | undefined {
  const got = info.interface ?? 1;
  if (got === NATIVE_INTERFACE) return undefined;
  return `${file} was built from ${got < NATIVE_INTERFACE ? 'older' : 'newer'} sources (interface ${got}, these bindings need ${NATIVE_INTERFACE}): run 'npm run build:native'`;
}

/** The package root: the nearest folder above this file holding binding.gyp (works from src/ and dist/src/). */
function findPackageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let cached: { addon?: NativeAddon; error?: BackendError } | undefined;

/**
 * Loads the addon once (DIFFIQA_NATIVE_ADDON may name another .node file).
 * @throws BackendError('native', reason) when the addon is missing or cannot be loaded.
 */
export function loadNativeAddon(): NativeAddon {
  if (cached === undefined) cached = tryLoad();
  if (cached.error) throw cached.error;
  return cached.addon as NativeAddon;
}

function tryLoad(): { addon?: NativeAddon; error?: BackendError } {
  const root = findPackageRoot();
  const file = process.env['DIFFIQA_NATIVE_ADDON'] ?? (root ? join(root, ADDON_FILE) : undefined);
  if (file === undefined || !existsSync(file)) {
    const where = file ?? ADDON_FILE;
    return { error: new BackendError('native', `addon ${where} not built (run 'npm run build:native')`) };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    const mismatch = interfaceMismatch(file, addon.info());
    if (mismatch !== undefined) return { error: new BackendError('native', mismatch) };
    const isaError = applyIsaRequest(addon);
    return isaError ? { error: isaError } : { addon };
  } catch (err) {
    return { error: new BackendError('native', `cannot load ${file}: ${describeError(err)}`) };
  }
}

/**
 * DIFFIQA_ISA=avx512|avx2|portable runs every native kernel on that instruction set (native/isa.h), so the AVX2 path
 * can be checked and timed on an AVX-512 machine. A request this CPU cannot run is an error, never a silent fallback
 * to another path.
 */
function applyIsaRequest(addon: NativeAddon): BackendError | undefined {
  const request = process.env['DIFFIQA_ISA'];
  if (request === undefined || request === '' || request === 'auto') return undefined;
  if (!['avx512', 'avx2', 'portable'].includes(request)) {
    return new BackendError('native', `DIFFIQA_ISA='${request}' is not one of avx512, avx2, portable, auto`);
  }
  const active = addon.setIsa(request);
  if (active !== request) return new BackendError('native', `DIFFIQA_ISA=${request}: this CPU does not support it (best available: ${active})`);
  return undefined;
}
