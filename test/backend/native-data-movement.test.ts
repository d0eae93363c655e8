/**
 * Native data-movement kernels (Slice, SplitV, Concat, Transpose, Tile, PadV2, Reverse, ResizeNearestNeighbor and
 * its gradient) against tfjs cpu: these are copies (or tfjs-ordered double sums), so outputs must be bit-identical.
 * Softmax and Pow within 1e-6 relative per element; gradients of a composite within 1e-5. Shapes are random with odd sizes,
 * ranks 1-5, and edge cases (size -1, begin at the end, empty pieces).
 */
import { describe, expect, it } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { loadNativeAddon } from '../../src/backend/native-binding.js';
import { tf } from '../../src/backend/tf.js';
import { Rng } from '../../src/util/rng.js';
import { expectNativeMatchesCpu, randomValues, runOn } from './compare.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A seeded float32 or int32 tensor (int32 values span negatives and large magnitudes). */
function input(name: string, shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const v = randomValues(name, size(shape));
  if (dtype === 'int32') return tf.tensor(Int32Array.from(v, (x) => Math.round(x * 1e6)), shape, 'int32');
  return tf.tensor(v, shape);
}

function randomShape(rng: Rng, rank: number, max = 7): number[] {
  return Array.from({ length: rank }, () => rng.int(1, max));
}

/** Runs fn on cpu and native and asserts every output is identical (values, shape via length) without fallback. */
function expectExact(fn: () => tf.Tensor | tf.Tensor[]): void {
  const before = countCpuFallbacks();
  const cpu = runOn('cpu', fn);
  const native = runOn('native', fn);
  expect(countCpuFallbacks()).toBe(before);
  expect(native.length).toBe(cpu.length);
  cpu.forEach((ref, i) => {
    const got = native[i] as Float32Array;
    expect(got.constructor).toBe(ref.constructor);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });
}

/** Native and cpu shapes of fn's outputs agree (runOn returns values only). */
function shapesOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): number[][] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const out = fn();
    return (Array.isArray(out) ? out : [out]).map((t) => t.shape);
  });
}

const DTYPES = ['float32', 'int32'] as const;

describe('native data-movement kernels match tfjs cpu exactly', () => {
  it('the native backend is registered', () => {
    expect(tf.findBackend('native')).not.toBeNull();
  });

  for (const dtype of DTYPES) {
    it(`slice (${dtype}), ranks 1-5, size -1 and empty slices`, () => {
      const rng = new Rng(`slice${dtype}`);
      for (let c = 0; c < 30; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank);
        const begin = shape.map((n) => rng.int(0, n)); // n: begin at the end (empty along that axis)
        const sz = shape.map((n, d) => (rng.chance(0.25) ? -1 : rng.int(0, n - (begin[d] as number))));
        const fn = () => tf.slice(input(`s${c}`, shape, dtype), begin, sz);
        expect(shapesOn('native', fn)).toEqual(shapesOn('cpu', fn));
        expectExact(fn);
      }
    });

    it(`split (${dtype}) along every axis, with -1 and empty pieces`, () => {
      const rng = new Rng(`split${dtype}`);
      for (let c = 0; c < 20; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank);
        const axis = rng.int(0, rank - 1);
        const n = shape[axis] as number;
        const first = rng.int(0, n);
        const sizes = c % 2 === 0 ? [first, 0, -1] : [first, n - first];
        expectExact(() => tf.split(input(`p${c}`, shape, dtype), sizes, axis));
      }
    });

    it(`concat (${dtype}) along every axis, including an empty input`, () => {
      const rng = new Rng(`concat${dtype}`);
      for (let c = 0; c < 20; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank);
        const axis = rng.int(0, rank - 1);
        const parts = [1, 2, 3].map((k) => {
          const s = [...shape];
          s[axis] = k === 2 && c % 3 === 0 ? 0 : rng.int(1, 6);
          return s;
        });
        expectExact(() => tf.concat(parts.map((s, k) => input(`c${c}${k}`, s, dtype)), axis));
      }
    });

    it(`transpose (${dtype}), random perms of ranks 1-5`, () => {
      const rng = new Rng(`transpose${dtype}`);
      for (let c = 0; c < 30; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank);
        const perm = rng.shuffle(shape.map((_, i) => i));
        expectExact(() => tf.transpose(input(`t${c}`, shape, dtype), perm));
      }
    });

    it(`tile (${dtype}), ranks 1-4`, () => {
      const rng = new Rng(`tile${dtype}`);
      for (let c = 0; c < 16; c++) {
        const rank = 1 + (c % 4);
        const shape = randomShape(rng, rank, 5);
        const reps = shape.map(() => rng.int(1, 3));
        expectExact(() => tf.tile(input(`l${c}`, shape, dtype), reps));
      }
    });

    it(`pad (${dtype}) with zero and non-zero constants`, () => {
      const rng = new Rng(`pad${dtype}`);
      for (let c = 0; c < 16; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank, 5);
        const paddings = shape.map(() => [rng.int(0, 3), rng.int(0, 3)] as [number, number]);
        const value = c % 2 === 0 ? 0 : -7;
        expectExact(() => tf.pad(input(`d${c}`, shape, dtype), paddings, value));
      }
    });

    it(`reverse (${dtype}) over random axis sets`, () => {
      const rng = new Rng(`reverse${dtype}`);
      for (let c = 0; c < 20; c++) {
        const rank = 1 + (c % 5);
        const shape = randomShape(rng, rank);
        const axes = shape.map((_, i) => i).filter(() => rng.chance(0.5));
        expectExact(() => tf.reverse(input(`r${c}`, shape, dtype), axes));
      }
    });
  }

  it('large copies split across threads: attention transposes, channel split/concat, padding', () => {
    expectExact(() => {
      const x = input('big', [2, 300, 4, 8]);
      const qkv = input('qkv', [2, 14, 14, 96]);
      const parts = tf.split(qkv, 3, 3);
      return [
        tf.transpose(x, [0, 2, 1, 3]),
        tf.transpose(x, [0, 2, 3, 1]),
        tf.transpose(tf.reshape(x, [2, 300, 32]), [0, 2, 1]),
        ...parts,
        tf.concat([qkv, qkv], 3),
        tf.concat([qkv, qkv], 1),
        tf.pad(qkv, [[0, 0], [1, 1], [1, 1], [0, 0]]),
        tf.tile(input('row', [1, 1, 1, 96]), [2, 14, 14, 1]),
        tf.reverse(qkv, [1, 2]),
      ];
    });
  });

  it('concat in one pass over the output rows: streamed when 16 MB or more, odd widths, an inner axis', () => {
    expectExact(() => [
      tf.concat([input('s1', [4, 112, 112, 16]), input('s2', [4, 112, 112, 16])], 3), // 25.7 MB: streaming stores
      tf.concat([input('w1', [3, 40, 40, 16]), input('w2', [3, 40, 40, 3]), input('w3', [3, 40, 40, 5])], 3),
      tf.concat([input('a1', [70, 2, 3]), input('a2', [70, 5, 3])], 1),
    ]);
  });

  it('resizeNearestNeighbor for every allowed attribute combination and non-integer scales', () => {
    const cases: [number[], [number, number]][] = [
      [[2, 5, 7, 3], [10, 14]],
      [[1, 6, 4, 5], [9, 7]],
      [[2, 9, 8, 1], [4, 3]],
      [[3, 1, 1, 4], [3, 5]],
      [[12, 56, 56, 32], [112, 112]], // the UNet's 2x upsampling, 19 MB out: streaming stores
      [[2, 5, 6, 8], [13, 11]], // 8 channels: rows of whole 16-byte stores, but too small to stream
    ];
    for (const [shape, out] of cases) {
      for (const [align, half] of [[false, false], [true, false], [false, true]] as const) {
        expectExact(() => tf.image.resizeNearestNeighbor(input(`z${shape}`, shape) as tf.Tensor4D, out, align, half));
      }
    }
  });

  it('resizeNearestNeighbor gradient equals tfjs cpu for batch 1 (its window search) bit for bit', () => {
    const cases: [number[], [number, number]][] = [
      [[1, 5, 7, 3], [10, 14]],
      [[1, 6, 4, 5], [9, 7]],
      [[1, 9, 8, 2], [4, 3]],
      [[1, 16, 16, 8], [32, 32]],
    ];
    for (const [shape, out] of cases) {
      for (const align of [false, true]) {
        expectExact(() => {
          const x = input(`g${shape}`, shape) as tf.Tensor4D;
          const w = input(`w${shape}`, [1, out[0], out[1], shape[3] as number]);
          return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, out, align), w)))(x);
        });
      }
    }
  });

  it('resizeNearestNeighbor gradient is the exact adjoint of the cpu forward mapping for batch > 1 and all attrs', () => {
    // tfjs cpu's own gradient kernel reads dy at the images' batch stride, so for batch > 1 the reference is a
    // float64 scatter of dy through the mapping that tfjs cpu's *forward* kernel applies to an index image.
    const cases: [number[], [number, number]][] = [
      [[2, 5, 7, 3], [10, 14]],
      [[3, 9, 8, 2], [4, 3]],
      [[2, 6, 6, 4], [12, 12]],
    ];
    for (const [shape, out] of cases) {
      const [batch, h, w, ch] = shape as [number, number, number, number];
      const outShape: [number, number, number, number] = [batch, out[0], out[1], ch];
      for (const [align, half] of [[false, false], [true, false], [false, true]] as const) {
        const map = runOn('cpu', () =>
          tf.image.resizeNearestNeighbor(tf.tensor4d(Float32Array.from({ length: h * w }, (_, i) => i), [1, h, w, 1]), out, align, half),
        )[0] as Float32Array;
        const dyv = randomValues(`dy${shape}${align}${half}`, batch * out[0] * out[1] * ch);
        const ref = new Float64Array(batch * h * w * ch);
        for (let b = 0; b < batch; b++) {
          for (let o = 0; o < out[0] * out[1]; o++) {
            for (let c = 0; c < ch; c++) {
              ref[(b * h * w + (map[o] as number)) * ch + c] += dyv[(b * out[0] * out[1] + o) * ch + c] as number;
            }
          }
        }
        const before = countCpuFallbacks();
        const got = runOn('native', () => {
          const x = tf.zeros([batch, h, w, ch]);
          const dy = tf.tensor4d(dyv, outShape);
          return tf.engine().runKernel('ResizeNearestNeighborGrad', { images: x, dy }, { alignCorners: align, halfPixelCenters: half }) as tf.Tensor;
        })[0] as Float32Array;
        expect(countCpuFallbacks()).toBe(before);
        expect(Array.from(got)).toEqual(Array.from(Float32Array.from(ref)));
      }
    }
  });

  it('softmax over the last axis within 1e-6 relative per element, including large logits', () => {
    const shapes = [[7], [3, 5], [2, 3, 17], [2, 4, 64, 33], [1, 1, 1, 1]];
    for (const shape of shapes) {
      for (const scale of [1, 30]) {
        const fn = () => tf.softmax(tf.mul(input(`m${shape}`, shape), scale));
        const before = countCpuFallbacks();
        const cpu = runOn('cpu', fn)[0] as Float32Array;
        const native = runOn('native', fn)[0] as Float32Array;
        expect(countCpuFallbacks()).toBe(before);
        for (let i = 0; i < cpu.length; i++) {
          expect(Math.abs((native[i] as number) - (cpu[i] as number))).toBeLessThanOrEqual(1e-6 * Math.abs(cpu[i] as number) + 1e-30);
        }
      }
    }
  });

  it('pow with scalar, broadcast and full exponents within 1e-6 relative, and rsqrt gradients', () => {
    const cases: [number[], number[]][] = [[[3, 5, 7, 13], []], [[3, 5, 7, 13], [13]], [[2, 1, 3, 1], [1, 4, 1, 5]], [[64, 300], [64, 300]]];
    for (const [sa, sb] of cases) {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => tf.pow(tf.add(tf.abs(input(`pa${sa}`, sa)), 0.1), input(`pb${sb}`, sb)), 1e-6);
      expect(countCpuFallbacks()).toBe(before);
    }
    expectNativeMatchesCpu(() => tf.grad((v: tf.Tensor) => tf.sum(tf.rsqrt(v)))(tf.add(tf.abs(input('rs', [4, 9, 9, 3])), 0.5)), 1e-6);
  });

  it('gradients through concat + slice + softmax + transpose + pad match cpu', () => {
    expectNativeMatchesCpu(() => {
      const a = input('ga', [2, 5, 6, 3]);
      const b = input('gb', [2, 5, 6, 4]);
      const w = input('gw', [2, 7, 5, 6]);
      const f = (x: tf.Tensor, y: tf.Tensor) => {
        const c = tf.concat([x, y], 3); // [2,5,6,7]
        const [p, q] = tf.split(c, [3, 4], 3);
        const s = tf.slice(tf.concat([q as tf.Tensor, p as tf.Tensor], 3), [0, 1, 0, 0], [-1, 4, -1, -1]); // [2,4,6,7]
        const t = tf.transpose(tf.pad(s, [[0, 0], [1, 0], [0, 0], [0, 0]]), [0, 3, 1, 2]); // [2,7,5,6]
        return tf.sum(tf.mul(tf.softmax(t), w));
      };
      return tf.grads(f)([a, b]);
    }, 1e-5);
  });

  it('the addon rejects copies that reach outside their arrays', () => {
    const addon = loadNativeAddon();
    const src = new Float32Array(10);
    const dst = new Float32Array(10);
    expect(() => addon.stridedCopy(src, 5, dst, 0, [6], [1], [1])).toThrow(/src/);
    expect(() => addon.stridedCopy(src, 0, dst, 0, [4], [1], [4])).toThrow(/dst/);
    expect(() => addon.stridedCopy(src, 0, dst, 0, [2], [-1], [1])).toThrow(/src/);
    expect(() => addon.resizeNearest(src, dst, [1, 2, 5, 1, 2, 5], Int32Array.of(0, 2), Int32Array.of(0, 1, 2, 3, 4))).toThrow(/rowIdx/);
  });
});
