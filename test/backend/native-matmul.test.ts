/**
 * Native BatchMatMul and _FusedMatMul against tfjs cpu (relative error max|native - cpu| / max|cpu| < 1e-5):
 * all four transpose combinations, broadcast batch dimensions, odd sizes that leave partial GEMM tiles.
 */
import { describe, expect, it } from 'vitest';
import { countCpuFallbacks } from '../../src/backend/kernels/native-kernel-util.js';
import { tf } from '../../src/backend/tf.js';
import { expectNativeMatchesCpu, randomValues } from './compare.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const t = (name: string, shape: number[]) => tf.tensor(randomValues(name, size(shape)), shape);

interface MmCase {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

const CASES: MmCase[] = [
  { a: [1, 13, 5], b: [1, 5, 3], ta: false, tb: false },
  { a: [3, 37, 29], b: [3, 29, 45], ta: false, tb: false },
  { a: [2, 29, 37], b: [2, 29, 45], ta: true, tb: false },
  { a: [2, 37, 29], b: [2, 45, 29], ta: false, tb: true },
  { a: [2, 29, 37], b: [2, 45, 29], ta: true, tb: true },
  { a: [1, 7, 5], b: [3, 5, 13], ta: false, tb: false }, // batch dim broadcast 1 x 3 -> 3
  { a: [2, 3, 7, 5], b: [13, 5], ta: false, tb: true }, // rank 4 x rank 2
  { a: [7, 5], b: [4, 5, 13], ta: false, tb: false }, // rank 2 x rank 3
  { a: [3, 300, 70], b: [70, 90], ta: false, tb: false }, // a k > 256 block boundary is exercised below
  { a: [1, 20, 600], b: [1, 600, 33], ta: false, tb: false },
  // Few rows (<= 16) take the streaming path: depth over several blocks, a partial last column tile, A or B
  // transposed.
  { a: [1, 600], b: [600, 70], ta: false, tb: false },
  { a: [5, 600], b: [70, 600], ta: false, tb: true },
  { a: [600, 16], b: [600, 33], ta: true, tb: false },
  { a: [600, 3], b: [97, 600], ta: true, tb: true },
];

describe('native matmul kernels match tfjs cpu', () => {
  for (const c of CASES) {
    const name = `${c.a.join('x')}${c.ta ? 'ᵀ' : ''} @ ${c.b.join('x')}${c.tb ? 'ᵀ' : ''}`;
    it(`BatchMatMul ${name}`, () => {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() => tf.matMul(t(`a${name}`, c.a), t(`b${name}`, c.b), c.ta, c.tb));
      expect(countCpuFallbacks()).toBe(before);
    });
  }

  it('a row gives the same bits alone, in a few rows (streaming path) and in a large batch (packed GEMM)', () => {
    // The labeller embeds an image in whatever batch it falls in: its label must not depend on that.
    const k = 600; // three depth blocks
    for (const tb of [false, true]) {
      const big = t(`rows${tb}`, [40, k]);
      const w = t(`w${tb}`, tb ? [70, k] : [k, 70]);
      const all = tf.matMul(big, w, false, tb).arraySync() as number[][];
      for (const rows of [1, 3, 16]) {
        const some = tf.matMul(tf.slice(big, [7, 0], [rows, k]), w, false, tb).arraySync() as number[][];
        some.forEach((row, r) => expect(row).toEqual(all[7 + r]));
      }
    }
  });

  it('BatchMatMul broadcasts [2,1] x [3] batch dims like NumPy (float64 reference; tfjs cpu cannot)', () => {
    tf.setBackend('native');
    const a = randomValues('bca', 2 * 3 * 4);
    const b = randomValues('bcb', 3 * 4 * 5);
    const out = tf.tidy(() => tf.matMul(tf.tensor(a, [2, 1, 3, 4]), tf.tensor(b, [3, 4, 5])).dataSync());
    const ref = new Float64Array(2 * 3 * 3 * 5);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let r = 0; r < 3; r++)
          for (let c = 0; c < 5; c++) {
            let s = 0;
            for (let k = 0; k < 4; k++) s += (a[(i * 3 + r) * 4 + k] as number) * (b[(j * 4 + k) * 5 + c] as number);
            ref[((i * 3 + j) * 3 + r) * 5 + c] = s;
          }
    let err = 0;
    ref.forEach((v, i) => (err = Math.max(err, Math.abs(v - (out[i] as number)))));
    expect(err / Math.max(...ref.map(Math.abs))).toBeLessThan(1e-5);
  });

  it('BatchMatMul gradients through tf.grads', () => {
    expectNativeMatchesCpu(() => {
      const a = t('ga', [2, 9, 11]);
      const b = t('gb', [2, 13, 11]);
      const r = t('gr', [2, 9, 13]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, false, true), r)))([a, b]);
    });
  });

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'prelu', 'leakyrelu', 'sigmoid'] as const) {
    it(`_FusedMatMul with bias and ${activation}`, () => {
      const before = countCpuFallbacks();
      expectNativeMatchesCpu(() =>
        tf.fused.matMul({
          a: t('fa', [2, 17, 9]), b: t('fb', [2, 9, 21]), bias: t('fbias', [21]), activation,
          preluActivationWeights: activation === 'prelu' ? t('falpha', [21]) : undefined,
          leakyreluAlpha: 0.05,
        }),
      );
      expect(countCpuFallbacks()).toBe(before);
    });
  }

  it('_FusedMatMul gradient (relu, bias, transposeB) through tf.grads', () => {
    expectNativeMatchesCpu(() => {
      const a = t('fga', [11, 7]);
      const b = t('fgb', [5, 7]);
      const bias = t('fgbias', [5]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
        tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, transposeB: true, bias: z, activation: 'relu' }))),
      )([a, b, bias]);
    });
  });

  it('a bias that broadcasts along rows (not channels) falls back to cpu and still matches', () => {
    const before = countCpuFallbacks();
    expectNativeMatchesCpu(() => tf.fused.matMul({ a: t('ra', [6, 4]), b: t('rb', [4, 6]), bias: t('rbias', [6, 1]) }));
    expect(countCpuFallbacks()).toBe(before + 1);
  });
});
