/**
 * The bottleneck's full attention (src/diffusion/attention.ts, METHOD §1.1) against a float64 reference written
 * as plain loops: 1x1 qkv projection, q and k L2-normalised along the feature axis d (`fixAttentionNorm: true`) or
 * along the spatial axis N (false: the reference quirk), logits 10·q·k, softmax over keys, weighted sum of v, 1x1
 * output projection with bias. The weights are those of a tiny UNet's `mid_attn`, overwritten with seeded values.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/backend/tf.js';
import { fullAttention } from '../../src/diffusion/attention.js';
import { PAPER_UNET, createUnet, type UnetConfig } from '../../src/diffusion/unet.js';
import { Rng } from '../../src/util/rng.js';

const HEADS = 2;
const DIM_HEAD = 3;
const CONFIG: UnetConfig = { ...PAPER_UNET, dim: 4, dimMults: [1, 2], resnetBlockGroups: 2, imageSize: 8, linearAttnDimHead: 4, fullAttnHeads: HEADS, fullAttnDimHead: DIM_HEAD };
const PREFIX = 'mid_attn.fn.fn';
/** x: batch 2, 3x4 pixels (N = 12), the bottleneck's 8 channels. */
const X_SHAPE: [number, number, number, number] = [2, 3, 4, 8];

const seeded = (seed: string, n: number, scale: number): Float64Array => {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => scale * rng.normal());
};

/** float64 full attention; `normAxis` 'd' normalises each q/k vector over its features, 'n' each feature over space. */
function referenceAttention(x: Float64Array, wqkv: Float64Array, wout: Float64Array, bout: Float64Array, normAxis: 'd' | 'n'): Float64Array {
  const [B, H, W, C] = X_SHAPE;
  const N = H * W;
  const hidden = HEADS * DIM_HEAD;
  const y = new Float64Array(B * N * C);
  for (let b = 0; b < B; b++) {
    // qkv[n][o] = sum_c x[n][c] * wqkv[c][o]; channels ordered (q|k|v), then (head, feature).
    const qkv = Array.from({ length: N }, (_, n) => Array.from({ length: 3 * hidden }, (_, o) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += (x[(b * N + n) * C + c] as number) * (wqkv[c * 3 * hidden + o] as number);
      return s;
    }));
    const merged = Array.from({ length: N }, () => new Float64Array(hidden));
    for (let h = 0; h < HEADS; h++) {
      const part = (which: number) => Array.from({ length: N }, (_, n) => Array.from({ length: DIM_HEAD }, (_, e) => qkv[n]![which * hidden + h * DIM_HEAD + e]!));
      const normalise = (t: number[][]): number[][] => {
        if (normAxis === 'd') {
          return t.map((row) => {
            const norm = Math.max(Math.sqrt(row.reduce((s, v) => s + v * v, 0)), 1e-12);
            return row.map((v) => v / norm);
          });
        }
        const norms = Array.from({ length: DIM_HEAD }, (_, e) => Math.max(Math.sqrt(t.reduce((s, row) => s + row[e]! * row[e]!, 0)), 1e-12));
        return t.map((row) => row.map((v, e) => v / norms[e]!));
      };
      const q = normalise(part(0));
      const k = normalise(part(1));
      const v = part(2);
      for (let i = 0; i < N; i++) {
        const logits = k.map((kj) => 10 * q[i]!.reduce((s, qe, e) => s + qe * kj[e]!, 0));
        const top = Math.max(...logits);
        const ex = logits.map((l) => Math.exp(l - top));
        const sum = ex.reduce((s, a) => s + a, 0);
        for (let e = 0; e < DIM_HEAD; e++) merged[i]![h * DIM_HEAD + e] = ex.reduce((s, a, j) => s + (a / sum) * v[j]![e]!, 0);
      }
    }
    for (let n = 0; n < N; n++) {
      for (let co = 0; co < C; co++) {
        let s = bout[co] as number;
        for (let c = 0; c < hidden; c++) s += merged[n]![c]! * (wout[c * C + co] as number);
        y[(b * N + n) * C + co] = s;
      }
    }
  }
  return y;
}

/** max|a - b| / max|b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

const BACKENDS = ['cpu', 'native'].filter((b) => tf.findBackendFactory(b) !== null);

describe.each(BACKENDS)('full attention on %s against a float64 reference', (backend) => {
  afterAll(() => {
    tf.setBackend('cpu');
  });

  it(`fixNorm true (fixAttentionNorm) normalises q and k along d, false along the spatial axis N (the reference quirk)`, () => {
    tf.setBackend(backend);
    const hidden = HEADS * DIM_HEAD;
    const C = X_SHAPE[3];
    const unet = createUnet(CONFIG, new Rng(1));
    const wqkv = seeded('wqkv', C * 3 * hidden, 0.8);
    const wout = seeded('wout', hidden * C, 0.5);
    const bout = seeded('bout', C, 0.1);
    const x = seeded('x', X_SHAPE.reduce((a, b) => a * b, 1), 1);
    const p = unet.params;
    expect(p.get(`${PREFIX}.to_qkv.weight`).shape).toEqual([1, 1, C, 3 * hidden]);
    p.get(`${PREFIX}.to_qkv.weight`).assign(tf.tensor4d(Float32Array.from(wqkv), [1, 1, C, 3 * hidden]));
    p.get(`${PREFIX}.to_out.weight`).assign(tf.tensor4d(Float32Array.from(wout), [1, 1, hidden, C]));
    p.get(`${PREFIX}.to_out.bias`).assign(tf.tensor1d(Float32Array.from(bout)));
    // Round the inputs to float32 first, so both sides see the same numbers.
    const [x32, wqkv32, wout32, bout32] = [x, wqkv, wout, bout].map((a) => Float64Array.from(Float32Array.from(a))) as [Float64Array, Float64Array, Float64Array, Float64Array];
    const run = (fixNorm: boolean): Float32Array =>
      tf.tidy(() => fullAttention(p, PREFIX, tf.tensor4d(Float32Array.from(x), X_SHAPE), HEADS, fixNorm).dataSync() as Float32Array);
    const byD = referenceAttention(x32, wqkv32, wout32, bout32, 'd');
    const byN = referenceAttention(x32, wqkv32, wout32, bout32, 'n');
    // The two normalisations give clearly different outputs on this input, so the tolerance tells them apart.
    expect(relativeError(byD, byN)).toBeGreaterThan(0.05);
    expect(relativeError(run(true), byD)).toBeLessThan(1e-5);
    expect(relativeError(run(false), byN)).toBeLessThan(1e-5);
    unet.dispose();
  });
});
