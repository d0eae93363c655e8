/**
 * The fused UNet kernels on `native` (src/backend/native/unet_ops_impl.cc): SiLU, channel LayerNorm and the
 * LinearAttention core, forward and backward. Ops and composite fallbacks: src/backend/ops/unet-ops.ts.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  Attention, AttentionGrad, ChannelNorm, GroupNormFilmSilu, ChannelNormGrad, LinearAttention, LinearAttentionBlock, LinearAttentionGrad,
  LinearAttentionProjected, Silu, SiluGrad,
} from '../kernel-names.js';
import { loadNativeAddon } from '../native-binding.js';
import { groupNormDims } from './GroupNorm.js';
import { allocOutput, valuesOf, type KernelArgs } from './native-kernel-util.js';

function f32(args: KernelArgs, name: string, kernel: string): Float32Array {
  const v = valuesOf(args.backend, args.inputs[name]);
  if (v === null) throw new Error(`${kernel}: ${name} must be a float32 tensor`);
  return v;
}

/** The optional float32 input `name` (a residual), or null when the call had none. */
function optionalF32(args: KernelArgs, name: string, kernel: string): Float32Array | null {
  return args.inputs[name] !== undefined ? f32(args, name, kernel) : null;
}

function rowsOf(x: TensorInfo): number {
  return x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
}

/** [B, N, heads, d] of a qkv [B, H, W, 3·heads·d]. */
function attnDims(qkv: TensorInfo, heads: number): number[] {
  const [b = 0, h = 1, w = 1, c3 = 3] = qkv.shape;
  const d = c3 / 3 / heads;
  if (qkv.shape.length !== 4 || !Number.isInteger(d) || d < 1) {
    throw new Error(`${LinearAttention}: qkv [B,H,W,3·${heads}·d] expected, got [${qkv.shape.join(',')}]`);
  }
  return [b, h * w, heads, d];
}

function silu(args: KernelArgs): TensorInfo {
  const x = args.inputs['x'] as TensorInfo;
  const y = allocOutput(args.backend, [...x.shape], true); // every element is written
  loadNativeAddon().silu(f32(args, 'x', Silu), y.values);
  return y.info;
}

function siluGrad(args: KernelArgs): TensorInfo {
  const x = args.inputs['x'] as TensorInfo;
  const dx = allocOutput(args.backend, [...x.shape], true); // every element is written
  loadNativeAddon().siluGrad(f32(args, 'dy', SiluGrad), f32(args, 'x', SiluGrad), dx.values);
  return dx.info;
}

function channelNorm(args: KernelArgs): TensorInfo[] {
  const x = args.inputs['x'] as TensorInfo;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const channels = x.shape[x.shape.length - 1] ?? 1;
  const y = allocOutput(args.backend, [...x.shape], true); // every element is written
  const mean = allocOutput(args.backend, [rowsOf(x)]);
  const rstd = allocOutput(args.backend, [rowsOf(x)]);
  const k = ChannelNorm;
  loadNativeAddon().channelNorm(f32(args, 'x', k), f32(args, 'g', k), y.values, mean.values, rstd.values, channels, epsilon, optionalF32(args, 'residual', k));
  return [y.info, mean.info, rstd.info];
}

function channelNormGrad(args: KernelArgs): TensorInfo[] {
  const x = args.inputs['x'] as TensorInfo;
  const channels = x.shape[x.shape.length - 1] ?? 1;
  const dx = allocOutput(args.backend, [...x.shape]);
  const dg = allocOutput(args.backend, [channels]);
  const k = ChannelNormGrad;
  loadNativeAddon().channelNormGrad(
    f32(args, 'dy', k), f32(args, 'x', k), f32(args, 'g', k), f32(args, 'mean', k), f32(args, 'rstd', k),
    dx.values, dg.values, channels,
  );
  return [dx.info, dg.info];
}

function linearAttention(args: KernelArgs): TensorInfo {
  const qkv = args.inputs['qkv'] as TensorInfo;
  const { heads } = args.attrs as unknown as { heads: number };
  const dims = attnDims(qkv, heads);
  const [b, h, w] = qkv.shape as number[];
  const out = allocOutput(args.backend, [b as number, h as number, w as number, (dims[2] as number) * (dims[3] as number)], true); // every element is written
  loadNativeAddon().linearAttention(f32(args, 'qkv', LinearAttention), out.values, dims);
  return out.info;
}

/** x [B,H,W,C] and its bias-free qkv projection w [1,1,C,3·heads·d], checked for `kernel`: [B, N, heads, d] and C. */
function projectedDims(kernel: string, x: TensorInfo, w: TensorInfo, heads: number): { dims: number[]; c: number } {
  const [b = 0, h = 1, wd = 1, c = 1] = x.shape;
  const [kh, kw, wc, c3] = w.shape;
  if (x.shape.length !== 4 || kh !== 1 || kw !== 1 || wc !== c) {
    throw new Error(`${kernel}: x [B,H,W,C] and w [1,1,C,3·heads·d] expected, got [${x.shape.join(',')}] and [${w.shape.join(',')}]`);
  }
  return { dims: attnDims({ ...x, shape: [b, h, wd, c3 as number] }, heads), c };
}

function linearAttentionProjected(args: KernelArgs): TensorInfo {
  const x = args.inputs['x'] as TensorInfo;
  const { heads } = args.attrs as unknown as { heads: number };
  const k = LinearAttentionProjected;
  const { dims, c } = projectedDims(k, x, args.inputs['w'] as TensorInfo, heads);
  const out = allocOutput(args.backend, [...x.shape.slice(0, 3), (dims[2] as number) * (dims[3] as number)], true); // every element is written
  loadNativeAddon().linearAttentionProjected(f32(args, 'x', k), f32(args, 'w', k), out.values, dims, c);
  return out.info;
}

function linearAttentionBlock(args: KernelArgs): TensorInfo {
  const x = args.inputs['x'] as TensorInfo;
  const wo = args.inputs['wo'] as TensorInfo;
  const { heads, epsilon } = args.attrs as unknown as { heads: number; epsilon: number };
  const k = LinearAttentionBlock;
  const { dims, c } = projectedDims(k, x, args.inputs['w'] as TensorInfo, heads);
  const [okh, okw, oc, outC = 1] = wo.shape;
  if (okh !== 1 || okw !== 1 || oc !== (dims[2] as number) * (dims[3] as number)) {
    throw new Error(`${k}: wo [1,1,heads·d,C'] expected for ${dims[2]} heads of ${dims[3]}, got [${wo.shape.join(',')}]`);
  }
  const out = allocOutput(args.backend, [...x.shape.slice(0, 3), outC], true); // every element is written
  loadNativeAddon().linearAttentionBlock(
    f32(args, 'x', k), f32(args, 'w', k), f32(args, 'wo', k), optionalF32(args, 'bo', k), f32(args, 'g', k), optionalF32(args, 'residual', k),
    out.values, dims, c, outC, epsilon,
  );
  return out.info;
}

function linearAttentionGrad(args: KernelArgs): TensorInfo {
  const qkv = args.inputs['qkv'] as TensorInfo;
  const { heads } = args.attrs as unknown as { heads: number };
  const dims = attnDims(qkv, heads);
  const dqkv = allocOutput(args.backend, [...qkv.shape]);
  loadNativeAddon().linearAttentionGrad(f32(args, 'dy', LinearAttentionGrad), f32(args, 'qkv', LinearAttentionGrad), dqkv.values, dims);
  return dqkv.info;
}

function attention(args: KernelArgs): TensorInfo {
  const q = args.inputs['q'] as TensorInfo;
  const { scale } = args.attrs as unknown as { scale: number };
  const shape = q.shape;
  const n = shape[shape.length - 2] ?? 1;
  const d = shape[shape.length - 1] ?? 1;
  for (const name of ['k', 'v']) {
    const t = args.inputs[name] as TensorInfo;
    if (t.shape.join() !== shape.join()) throw new Error(`${Attention}: ${name} must have q's shape [${shape.join(',')}], got [${t.shape.join(',')}]`);
  }
  const out = allocOutput(args.backend, [...shape], true); // every element is written
  const g = shape.slice(0, -2).reduce((p, s) => p * s, 1);
  if (out.values.length > 0) {
    loadNativeAddon().attention(f32(args, 'q', Attention), f32(args, 'k', Attention), f32(args, 'v', Attention), out.values, [g, n, d], scale);
  }
  return out.info;
}

function groupNormFilmSilu(args: KernelArgs): TensorInfo[] {
  const x = args.inputs['x'] as TensorInfo;
  const { groups, epsilon } = args.attrs as unknown as { groups: number; epsilon: number };
  const dims = groupNormDims(x, groups);
  const b = dims[0] ?? 1;
  const y = allocOutput(args.backend, [...x.shape], true); // every element is written
  const mean = allocOutput(args.backend, [b, groups]);
  const rstd = allocOutput(args.backend, [b, groups]);
  const k = GroupNormFilmSilu;
  loadNativeAddon().groupNormFilmSilu(
    f32(args, 'x', k), f32(args, 'gamma', k), f32(args, 'beta', k), f32(args, 'scale', k), f32(args, 'shift', k),
    y.values, mean.values, rstd.values, dims, epsilon, optionalF32(args, 'residual', k),
  );
  return [y.info, mean.info, rstd.info];
}

function attentionGrad(args: KernelArgs): TensorInfo[] {
  const q = args.inputs['q'] as TensorInfo;
  const { scale } = args.attrs as unknown as { scale: number };
  const shape = q.shape;
  const n = shape[shape.length - 2] ?? 1;
  const d = shape[shape.length - 1] ?? 1;
  const g = shape.slice(0, -2).reduce((p, s) => p * s, 1);
  const [dq, dk, dv] = [0, 1, 2].map(() => allocOutput(args.backend, [...shape])) as [Out, Out, Out];
  const k = AttentionGrad;
  if (dq.values.length > 0) {
    loadNativeAddon().attentionGrad(
      f32(args, 'q', k), f32(args, 'k', k), f32(args, 'v', k), f32(args, 'dy', k), dq.values, dk.values, dv.values, [g, n, d], scale,
    );
  }
  return [dq.info, dk.info, dv.info];
}

type Out = ReturnType<typeof allocOutput>;

const config = (kernelName: string, fn: (args: KernelArgs) => TensorInfo | TensorInfo[]): KernelConfig => ({
  kernelName,
  backendName: 'native',
  kernelFunc: fn as unknown as KernelFunc,
});

export const UNET_OP_KERNELS: readonly KernelConfig[] = [
  config(Silu, silu),
  config(SiluGrad, siluGrad),
  config(ChannelNorm, channelNorm),
  config(ChannelNormGrad, channelNormGrad),
  config(LinearAttention, linearAttention),
  config(LinearAttentionProjected, linearAttentionProjected),
  config(LinearAttentionBlock, linearAttentionBlock),
  config(LinearAttentionGrad, linearAttentionGrad),
  config(Attention, attention),
  config(AttentionGrad, attentionGrad),
  config(GroupNormFilmSilu, groupNormFilmSilu),
];
