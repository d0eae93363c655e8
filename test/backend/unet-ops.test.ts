/**
 * The fused UNet ops (src/backend/ops/unet-ops.ts) on `native` against their tfjs-op composites run on tfjs cpu:
 * SiLU, channel LayerNorm, the LinearAttention core, softmax attention and the block's GroupNorm → FiLM → SiLU,
 * forward and gradients (tf.grads of sum(y·r) for a random r),
 * on odd sizes: channel counts that are not multiples of 16, one and several batches, odd pixel counts, 1..4 heads.
 */
import { describe, expect, it } from 'vitest';
import {
  channelLayerNorm, channelLayerNormComposite, linearAttentionBlock, linearAttentionCore, linearAttentionCoreComposite, linearAttentionProjected, silu,
  siluComposite,
  softmaxAttention, softmaxAttentionComposite, groupNormFilmSilu, groupNormFilmSiluComposite,
} from '../../src/backend/ops/unet-ops.js';
import { tf } from '../../src/backend/tf.js';
import { expectFusedEqualsSeparate, expectGradientsOfSeparate, onEveryIsa, randomValues, relativeError, runOn } from './compare.js';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** native(fused) vs cpu(composite) on the outputs of `build`, within `tol` relative error each. */
function expectFusedMatchesComposite(build: (fusedPath: boolean) => tf.Tensor[], tol = 1e-5): void {
  const ref = runOn('cpu', () => build(false));
  const got = runOn('native', () => build(true));
  expect(got.length).toBe(ref.length);
  ref.forEach((r, i) => {
    expect(r.some((v) => v !== 0)).toBe(true);
    expect(relativeError(got[i] as Float32Array, r)).toBeLessThan(tol);
  });
}

/** Output and input gradients of y = f(inputs) under the loss sum(y · r). */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: string): tf.Tensor[] {
  const y = f(...inputs);
  const r = tf.tensor(randomValues(`r-${seed}`, y.size), y.shape);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
  return [y, ...grads];
}

describe('fused UNet ops match their tfjs composites on cpu', () => {
  it('the native kernels are registered (the fused path is what these tests exercise)', () => {
    for (const k of ['DiffiqaSilu', 'DiffiqaChannelNorm', 'DiffiqaLinearAttention', 'DiffiqaLinearAttentionProjected', 'DiffiqaLinearAttentionBlock', 'DiffiqaAttention', 'DiffiqaGroupNormFilmSilu']) {
      expect(tf.getKernel(k, 'native')).toBeDefined();
      expect(tf.getKernel(k, 'cpu')).toBeUndefined();
    }
  });

  for (const shape of [[3, 5, 7, 13], [2, 4, 4, 16], [1, 1, 1, 100003]]) {
    it(`SiLU and its gradient ${shape}`, () => {
      expectFusedMatchesComposite((fusedPath) => {
        // Spread values over [-12, 12] to cover the sigmoid's saturated ends.
        const x = tf.mul(tf.tensor(randomValues(`silu-${shape}`, size(shape)), shape), 4);
        return withGrads((a) => (fusedPath ? silu(a) : siluComposite(a)), [x], `silu-${shape}`);
      });
    });
  }

  for (const shape of [[2, 5, 7, 16], [3, 3, 5, 13], [1, 4, 6, 64], [2, 3, 3, 40]] as [number, number, number, number][]) {
    it(`channel LayerNorm and its gradients (x, g) ${shape}`, () => {
      expectFusedMatchesComposite((fusedPath) => {
        // An offset and scale per pixel so that the statistics matter.
        const x = tf.add(tf.mul(tf.tensor4d(randomValues(`cn-${shape}`, size(shape)), shape), 3), 0.7);
        const g = tf.tensor1d(randomValues(`cng-${shape}`, shape[3]));
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          fusedPath ? channelLayerNorm(a as tf.Tensor4D, b as tf.Tensor1D, 1e-5) : channelLayerNormComposite(a as tf.Tensor4D, b as tf.Tensor1D, 1e-5);
        return withGrads(f, [x, g], `cn-${shape}`);
      }, 5e-5);
    });
  }

  const ATTN: { shape: [number, number, number, number]; heads: number; amp?: number }[] = [
    { shape: [2, 7, 9, 96], heads: 4 }, // cpu-small: 4 heads of 8
    // 620 pixels: several 256-row blocks per task, and logits up to ~±25 so that the running max of the key softmax
    // moves between blocks and the partial sums are rescaled.
    { shape: [2, 20, 31, 48], heads: 2, amp: 8 },
    { shape: [1, 5, 5, 30], heads: 2 }, // d = 5
    { shape: [3, 4, 6, 12], heads: 1 }, // d = 4, one head
    { shape: [1, 3, 11, 48], heads: 4 }, // d = 4, odd pixel count
  ];
  for (const { shape, heads, amp } of ATTN) {
    it(`LinearAttention core and its gradient ${shape} heads ${heads}`, () => {
      expectFusedMatchesComposite((fusedPath) => {
        const qkv = tf.mul(tf.tensor4d(randomValues(`la-${shape}`, size(shape)), shape), amp ?? 2);
        const f = (a: tf.Tensor) =>
          fusedPath ? linearAttentionCore(a as tf.Tensor4D, heads) : linearAttentionCoreComposite(a as tf.Tensor4D, heads);
        return withGrads(f, [qkv], `la-${shape}`);
      }, 5e-5);
    });
  }

  // The projected LinearAttention never stores conv2d(x, w); it must still give the unfused pair's exact bits, forward
  // and backward (the same GEMM sums per row, the same gradient kernels), also where blocks of 256 rows cross images.
  const PROJECTED: { shape: [number, number, number, number]; heads: number; d: number }[] = [
    { shape: [2, 7, 9, 16], heads: 4, d: 8 }, // cpu-small's 112 px level, small
    { shape: [3, 15, 21, 32], heads: 4, d: 8 }, // 315 pixels per image: blocks span images
    { shape: [1, 6, 5, 13], heads: 2, d: 5 },
  ];
  for (const { shape, heads, d } of PROJECTED) {
    it(`projected LinearAttention equals linearAttentionCore(conv2d(x, w)) bit for bit, with its gradients, ${shape} heads ${heads}`, () => {
      const wShape: [number, number, number, number] = [1, 1, shape[3], 3 * heads * d];
      const [fusedOut, unfusedOut] = [true, false].map((projected) =>
        runOn('native', () => {
          const x = tf.mul(tf.tensor4d(randomValues(`lap-${shape}`, size(shape)), shape), 2);
          const w = tf.tensor4d(randomValues(`lapw-${shape}`, size(wShape)), wShape);
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            projected
              ? linearAttentionProjected(a as tf.Tensor4D, b as tf.Tensor4D, heads)
              : linearAttentionCore(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'), heads);
          return withGrads(f, [x, w], `lap-${shape}`);
        }),
      ) as [Float32Array[], Float32Array[]];
      expect(fusedOut.length).toBe(3);
      fusedOut.forEach((got, i) => {
        expect(unfusedOut[i]!.some((v) => v !== 0)).toBe(true);
        expect(Array.from(got)).toEqual(Array.from(unfusedOut[i]!));
      });
    });
  }

  it('projected LinearAttention on cpu (no fused kernel: conv2d then the core composite) matches native', () => {
    const shape: [number, number, number, number] = [2, 6, 5, 16];
    const wShape: [number, number, number, number] = [1, 1, 16, 96];
    const run = (backend: string) =>
      runOn(backend, () => {
        const x = tf.tensor4d(randomValues('lapc', size(shape)), shape);
        const w = tf.tensor4d(randomValues('lapc-w', size(wShape)), wShape);
        return withGrads((a, b) => linearAttentionProjected(a as tf.Tensor4D, b as tf.Tensor4D, 4), [x, w], 'lapc');
      });
    const [cpu, native] = [run('cpu'), run('native')];
    cpu.forEach((c, i) => {
      expect(c.some((v) => v !== 0)).toBe(true);
      expect(relativeError(native[i]!, c)).toBeLessThan(5e-5);
    });
  });

  it('projected LinearAttention names a filter that is not a 1x1 qkv projection', () => {
    const x = tf.zeros([1, 4, 4, 8]) as tf.Tensor4D;
    expect(() => linearAttentionProjected(x, tf.zeros([1, 1, 7, 24]) as tf.Tensor4D, 2)).toThrow(/linearAttentionProjected w/);
    expect(() => linearAttentionProjected(x, tf.zeros([3, 3, 8, 24]) as tf.Tensor4D, 2)).toThrow(/linearAttentionProjected w/);
    expect(() => linearAttentionProjected(x, tf.zeros([1, 1, 8, 20]) as tf.Tensor4D, 2)).toThrow(/linearAttentionProjected w/);
  });

  it('LinearAttention of an image is bit-identical alone and inside batches of 2 and 5 (sharded labels equal unsharded)', () => {
    // 40x40 = 1,600 tokens: several fixed-size chunks, whose partial sums and key maxima are combined in order.
    const one = [1, 40, 40, 48];
    const image = randomValues('la-batch', size(one));
    const others = randomValues('la-batch-others', 4 * size(one));
    const firstOf = (batch: number): Float32Array =>
      runOn('native', () => {
        const data = new Float32Array(batch * image.length);
        data.set(image);
        data.set(others.subarray(0, (batch - 1) * image.length), image.length);
        return [tf.slice(linearAttentionCore(tf.mul(tf.tensor4d(data, [batch, 40, 40, 48]), 4) as tf.Tensor4D, 2), [0, 0, 0, 0], [1, 40, 40, -1])];
      })[0] as Float32Array;
    const alone = firstOf(1);
    expect(Array.from(firstOf(2))).toEqual(Array.from(alone));
    expect(Array.from(firstOf(5))).toEqual(Array.from(alone));
  });

  const FULL: { shape: number[]; scale: number }[] = [
    { shape: [2, 4, 49, 8], scale: 10 }, // the bottleneck's 4 heads of 8 (7x7 tokens), logit scale 10
    { shape: [1, 3, 37, 5], scale: 0.7 }, // odd N and d: partial 16-lane blocks
    { shape: [3, 17, 32], scale: 1 / Math.sqrt(32) }, // rank 3, d = 32
  ];
  for (const { shape, scale } of FULL) {
    it(`softmax attention and its gradients (q, k, v) ${shape} scale ${scale}`, () => {
      expectFusedMatchesComposite((fusedPath) => {
        const [q, k, v] = ['q', 'k', 'v'].map((n) => tf.tensor(randomValues(`fa-${n}-${shape}`, size(shape)), shape));
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          fusedPath ? softmaxAttention(a, b, c, scale) : softmaxAttentionComposite(a, b, c, scale);
        return withGrads(f, [q as tf.Tensor, k as tf.Tensor, v as tf.Tensor], `fa-${shape}`);
      }, 5e-5);
    });
  }

  const GN: { shape: [number, number, number, number]; groups: number; film: boolean }[] = [
    { shape: [3, 7, 9, 16], groups: 4, film: true }, // cpu-small block1: FiLM from the time embedding
    { shape: [2, 5, 5, 32], groups: 4, film: false }, // block2: no FiLM
    { shape: [2, 3, 11, 12], groups: 3, film: true }, // 4 channels per group, odd pixel count
    { shape: [1, 4, 4, 64], groups: 8, film: true },
  ];
  for (const { shape, groups, film } of GN) {
    it(`GroupNorm -> FiLM -> SiLU and its gradients ${shape} groups ${groups} film ${film}`, () => {
      expectFusedMatchesComposite((fusedPath) => {
        const [b, , , c] = shape;
        const x = tf.add(tf.mul(tf.tensor4d(randomValues(`gn-${shape}`, size(shape)), shape), 2), 0.5);
        const gamma = tf.add(tf.tensor1d(randomValues(`gng-${shape}`, c)), 1);
        const beta = tf.tensor1d(randomValues(`gnb-${shape}`, c));
        const scale = tf.mul(tf.tensor2d(randomValues(`gns-${shape}`, b * c), [b, c]), 0.5);
        const shift = tf.tensor2d(randomValues(`gnh-${shape}`, b * c), [b, c]);
        const op = fusedPath ? groupNormFilmSilu : groupNormFilmSiluComposite;
        if (!film) return withGrads((a, g, bb) => op(a as tf.Tensor4D, g as tf.Tensor, bb as tf.Tensor, groups, 1e-5), [x, gamma, beta], `gn-${shape}`);
        return withGrads(
          (a, g, bb, s, h) => op(a as tf.Tensor4D, g as tf.Tensor, bb as tf.Tensor, groups, 1e-5, s, h),
          [x, gamma, beta, scale, shift],
          `gn-${shape}`,
        );
      }, 5e-5);
    });
  }

  // A ResNet block's skip added in the GroupNorm pass: the bits of the separate add, forward and every gradient (the
  // residual's is dy), and the composite's result on cpu.
  for (const { shape, groups, film } of [{ shape: [2, 5, 7, 16], groups: 4, film: true }, { shape: [1, 3, 9, 24], groups: 8, film: false }]) {
    it(`GroupNorm -> FiLM -> SiLU + residual equals the separate add bit for bit, with gradients, ${shape}`, () => {
      const build = (fusedResidual: boolean, op: typeof groupNormFilmSilu) => () => {
        const [b, , , c] = shape as [number, number, number, number];
        const x = tf.add(tf.mul(tf.tensor4d(randomValues(`gnr-${shape}`, size(shape)), shape as [number, number, number, number]), 2), 0.5);
        const res = tf.tensor4d(randomValues(`gnr-res-${shape}`, size(shape)), shape as [number, number, number, number]);
        const gamma = tf.add(tf.tensor1d(randomValues(`gnrg-${shape}`, c)), 1);
        const beta = tf.tensor1d(randomValues(`gnrb-${shape}`, c));
        const scale = tf.mul(tf.tensor2d(randomValues(`gnrs-${shape}`, b * c), [b, c]), 0.5);
        const shift = tf.tensor2d(randomValues(`gnrh-${shape}`, b * c), [b, c]);
        // Without FiLM, scale and shift are not inputs (tf.grads refuses inputs that do not reach the output).
        const f = (a: tf.Tensor, r: tf.Tensor, g: tf.Tensor, bb: tf.Tensor, sc?: tf.Tensor, sh?: tf.Tensor) => {
          if (fusedResidual) return op(a as tf.Tensor4D, g, bb, groups, 1e-5, sc, sh, r as tf.Tensor4D);
          return tf.add(op(a as tf.Tensor4D, g, bb, groups, 1e-5, sc, sh), r);
        };
        return withGrads(f, film ? [x, res, gamma, beta, scale, shift] : [x, res, gamma, beta], `gnr-${shape}`);
      };
      const fusedOut = runOn('native', build(true, groupNormFilmSilu));
      const separate = runOn('native', build(false, groupNormFilmSilu));
      fusedOut.forEach((got, i) => expect(Array.from(got), `output ${i}`).toEqual(Array.from(separate[i]!)));
      const composite = runOn('cpu', build(true, groupNormFilmSiluComposite));
      fusedOut.forEach((got, i) => expect(relativeError(got, composite[i]!)).toBeLessThan(5e-5));
    });
  }

  it('channel LayerNorm + residual equals the separate add bit for bit, with gradients (x, g, residual)', () => {
    const shape: [number, number, number, number] = [2, 5, 7, 16];
    const build = (fusedResidual: boolean, op: typeof channelLayerNorm) => () => {
      const x = tf.add(tf.mul(tf.tensor4d(randomValues('cnr', size(shape)), shape), 3), 0.7);
      const res = tf.tensor4d(randomValues('cnr-res', size(shape)), shape);
      const g = tf.tensor1d(randomValues('cnr-g', shape[3]));
      const f = (a: tf.Tensor, b: tf.Tensor, r: tf.Tensor) =>
        fusedResidual ? op(a as tf.Tensor4D, b as tf.Tensor1D, 1e-5, r as tf.Tensor4D) : tf.add(op(a as tf.Tensor4D, b as tf.Tensor1D, 1e-5), r);
      return withGrads(f, [x, g, res], 'cnr');
    };
    const fusedOut = runOn('native', build(true, channelLayerNorm));
    const separate = runOn('native', build(false, channelLayerNorm));
    expect(fusedOut.length).toBe(4);
    fusedOut.forEach((got, i) => expect(Array.from(got), `output ${i}`).toEqual(Array.from(separate[i]!)));
    const composite = runOn('cpu', build(true, channelLayerNormComposite));
    fusedOut.forEach((got, i) => expect(relativeError(got, composite[i]!)).toBeLessThan(5e-5));
  });

  it('channel LayerNorm forward is the same bit for bit on every instruction set (AVX-512 sums 16 rows at once)', () => {
    // 70, 36 and 33 rows: whole 16-row groups and a remainder the row-by-row sums take; C = 16, 48, 64 and 20 (not a
    // multiple of 16: row by row everywhere).
    const shapes: [number, number, number, number][] = [[2, 5, 7, 16], [1, 4, 9, 64], [1, 3, 11, 48], [1, 3, 11, 20]];
    const results = new Map<string, Float32Array[]>();
    const ran = onEveryIsa((isa) => {
      results.set(
        isa,
        runOn('native', () =>
          shapes.flatMap((shape, i) => {
            const x = tf.add(tf.mul(tf.tensor4d(randomValues(`cni-${i}`, size(shape)), shape), 3), 0.7) as tf.Tensor4D;
            const res = tf.tensor4d(randomValues(`cni-res-${i}`, size(shape)), shape);
            const g = tf.tensor1d(randomValues(`cni-g-${i}`, shape[3]));
            // (The backward's vector sums contract to multiply-adds where the ISA has them: not compared here.)
            return [channelLayerNorm(x, g, 1e-5), channelLayerNorm(x, g, 1e-5, res)];
          }),
        ),
      );
    });
    if (!ran.includes('avx512')) console.log('channel LayerNorm across instruction sets: avx512 not run (this CPU lacks it)');
    const portable = results.get('portable')!;
    for (const [isa, got] of results) got.forEach((v, k) => expect(Array.from(v), `${isa} output ${k}`).toEqual(Array.from(portable[k]!)));
  });

  describe('the LinearAttention block (to_qkv, core, to_out, skip) as one kernel', () => {
    // cpu-small's 4 heads of 8 on 16 channels (several 256-row blocks and a partial one), d = 16 with 32 channels out,
    // d = 5 (no compile-time head size), and 80 output channels (past the direct kernel's 64: the separate steps).
    const CASES: { shape: [number, number, number, number]; heads: number; d: number; out: number; residual: boolean }[] = [
      { shape: [2, 23, 29, 16], heads: 4, d: 8, out: 16, residual: true },
      { shape: [3, 7, 9, 24], heads: 2, d: 16, out: 32, residual: false },
      { shape: [1, 5, 13, 10], heads: 2, d: 5, out: 10, residual: true },
      { shape: [1, 6, 7, 16], heads: 1, d: 8, out: 80, residual: true },
    ];
    const inputs = (c: (typeof CASES)[number], i: number) => {
      const [b, h, w, ch] = c.shape;
      const hd = c.heads * c.d;
      return {
        x: tf.mul(tf.tensor4d(randomValues(`lab-x-${i}`, size(c.shape)), c.shape), 2) as tf.Tensor4D,
        w: tf.tensor4d(randomValues(`lab-w-${i}`, ch * 3 * hd), [1, 1, ch, 3 * hd]),
        wo: tf.tensor4d(randomValues(`lab-wo-${i}`, hd * c.out), [1, 1, hd, c.out]),
        bo: tf.tensor1d(randomValues(`lab-bo-${i}`, c.out)),
        g: tf.add(tf.tensor1d(randomValues(`lab-g-${i}`, c.out)), 1) as tf.Tensor1D,
        res: c.residual ? tf.tensor4d(randomValues(`lab-r-${i}`, b * h * w * c.out), [b, h, w, c.out]) : undefined,
      };
    };
    /** The separate ops the block stands for, as attention.ts composed them before. */
    const separate = (t: ReturnType<typeof inputs>, heads: number) =>
      channelLayerNorm(tf.fused.conv2d({ x: linearAttentionProjected(t.x, t.w, heads), filter: t.wo, strides: 1, pad: 'valid', bias: t.bo }) as tf.Tensor4D, t.g, 1e-5, t.res);

    it('equals the separate ops bit for bit on every instruction set, and their tfjs composites on cpu', () => {
      expectFusedEqualsSeparate(
        'linearAttentionBlock',
        CASES.length,
        (i) => {
          const t = inputs(CASES[i]!, i);
          return linearAttentionBlock(t.x, t.w, CASES[i]!.heads, t.wo, t.bo, t.g, 1e-5, t.res);
        },
        (i) => separate(inputs(CASES[i]!, i), CASES[i]!.heads),
        5e-5,
      );
    });

    it('runs the fused kernel only when no gradient is recorded, so gradients flow through the separate ops', () => {
      const c = CASES[0]!;
      expectGradientsOfSeparate((block) => {
        const t = inputs(c, 0);
        const f = (x: tf.Tensor, wo: tf.Tensor) => {
          const u = { ...t, x: x as tf.Tensor4D, wo: wo as tf.Tensor4D };
          return tf.sum(tf.square(block ? linearAttentionBlock(u.x, u.w, c.heads, u.wo, u.bo, u.g, 1e-5, u.res) : separate(u, c.heads)));
        };
        return tf.grads(f)([t.x, t.wo]);
      });
    });

    it('names a residual of the wrong shape', () => {
      runOn('native', () => {
        const t = inputs(CASES[0]!, 0);
        expect(() => linearAttentionBlock(t.x, t.w, 4, t.wo, t.bo, t.g, 1e-5, tf.zeros([2, 23, 29, 8]) as tf.Tensor4D)).toThrow(/residual/);
        return [];
      });
    });
  });

  it('falls back to the composite on cpu (no fused kernel there)', () => {
    const [a, b] = [runOn('cpu', () => silu(tf.tensor1d([-2, 0, 3]))), runOn('cpu', () => siluComposite(tf.tensor1d([-2, 0, 3])))];
    expect(Array.from(a[0] as Float32Array)).toEqual(Array.from(b[0] as Float32Array));
  });
});
