/**
 * The `native` backend's recycling allocator (src/backend/native-backend.ts): disposed native outputs are reused
 * by the next output of the same length, zero-filled, and never while anything else can still see their memory
 * (arrays handed out by dataSync/data, second tensors on the same array or on a view of its buffer).
 */
import { describe, expect, it } from 'vitest';
import { NativeBackend, poolCapBytes } from '../../src/backend/native-backend.js';
import { groupNorm } from '../../src/backend/ops/group-norm.js';
import { channelLayerNorm, groupNormFilmSilu, linearAttentionCore, silu, softmaxAttention } from '../../src/backend/ops/unet-ops.js';
import { tf } from '../../src/backend/tf.js';
import { randomValues } from './compare.js';

const N = 1 << 15; // above the pooling threshold

function native(): NativeBackend {
  tf.setBackend('native');
  const b = tf.backend();
  expect(b).toBeInstanceOf(NativeBackend);
  return b as NativeBackend;
}

function valuesOf(backend: NativeBackend, t: tf.Tensor): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

describe('native recycling allocator', () => {
  it('reuses a disposed output for the next output of that length, with correct (fully written) results', () => {
    const b = native();
    const x = tf.tensor1d(randomValues('px', N));
    const a = tf.add(x, 1);
    const mem = valuesOf(b, a);
    a.dispose();
    const before = b.pooledStats().arrays;
    expect(before).toBeGreaterThan(0);
    const c = tf.mul(x, 2);
    expect(valuesOf(b, c)).toBe(mem); // the same memory, recycled
    expect(b.pooledStats().arrays).toBe(before - 1);
    const xv = x.dataSync();
    const cv = c.dataSync();
    for (let i = 0; i < N; i += 997) expect(cv[i]).toBe(Math.fround((xv[i] as number) * 2));
    tf.dispose([x, c]);
  });

  it('recycled arrays are zero-filled like fresh ones', () => {
    const b = native();
    const a = tf.fill([N], 7);
    const t = tf.add(a, 0); // a native output of length N
    t.dispose();
    const mem = b.allocFloat32(N);
    expect(mem.every((v) => v === 0)).toBe(true);
    a.dispose();
  });

  it('never recycles an array handed out by dataSync', () => {
    const b = native();
    const x = tf.tensor1d(randomValues('qx', N));
    const a = tf.add(x, 1);
    const held = a.dataSync();
    const copy = Float32Array.from(held);
    a.dispose();
    const c = tf.mul(x, 3);
    expect(valuesOf(b, c)).not.toBe(held);
    expect(Array.from(held.subarray(0, 64))).toEqual(Array.from(copy.subarray(0, 64)));
    expect(held.every((v, i) => v === copy[i])).toBe(true);
    tf.dispose([x, c]);
  });

  it('never recycles an array while a second tensor sees it or a view of its buffer', () => {
    const b = native();
    const x = tf.tensor1d(randomValues('rx', N));
    for (const view of [false, true]) {
      const a = tf.add(x, 1);
      const mem = valuesOf(b, a);
      const shared = view ? mem.subarray(0, N / 2) : mem;
      const other = tf.engine().makeTensorFromTensorInfo(b.makeTensorInfo([shared.length], 'float32', shared));
      const want = Float32Array.from(shared);
      a.dispose();
      const c = tf.mul(x, 5);
      expect(valuesOf(b, c)).not.toBe(mem);
      expect(other.dataSync().every((v, i) => v === want[i])).toBe(true);
      tf.dispose([other, c]);
    }
    x.dispose();
  });

  it('keeps what refCount sharing (reshape, clone) still uses', () => {
    const b = native();
    const x = tf.tensor1d(randomValues('sx', N));
    const a = tf.add(x, 1);
    const r = tf.reshape(a, [N / 2, 2]);
    const want = Float32Array.from(valuesOf(b, a));
    a.dispose(); // r holds the data: not freed, so not recycled
    const c = tf.mul(x, 7);
    expect(valuesOf(b, c)).not.toBe(valuesOf(b, r));
    expect(r.dataSync().every((v, i) => v === want[i])).toBe(true);
    tf.dispose([x, r, c]);
  });

  it('kernels that skip the zero-fill write every element of a recycled array; PadV2 still gets zeros', () => {
    const b = native();
    const t4 = (shape: [number, number, number, number], seed: string) => tf.tensor4d(randomValues(seed, shape.reduce((p, q) => p * q, 1)), shape);
    const x = t4([2, 16, 17, 32], 'zx'); // 17408 floats: above the pooling threshold
    const qkv = t4([2, 32, 17, 3 * 2 * 8], 'zqkv'); // LinearAttention core output: [2,32,17,16]
    const q = tf.tensor3d(randomValues('zq', 4 * 512 * 8), [4, 512, 8]);
    const small = t4([2, 8, 17, 32], 'zs'); // resized x2 in height and width: [2,16,34,32]
    const [gamma, beta] = [tf.tensor1d(randomValues('zg', 32)), tf.tensor1d(randomValues('zb', 32))];
    const film = tf.tensor2d(randomValues('zf', 64), [2, 32]);
    const cases: [string, () => tf.Tensor][] = [
      ['silu', () => silu(x)],
      ['channelLayerNorm', () => channelLayerNorm(x, gamma, 1e-5)],
      ['linearAttentionCore', () => linearAttentionCore(qkv, 2)],
      ['softmaxAttention', () => softmaxAttention(q, q, q, 0.3)],
      ['groupNormFilmSilu', () => groupNormFilmSilu(x, gamma, beta, 4, 1e-5, film, film)],
      ['groupNorm', () => groupNorm(x, gamma, beta, 4)],
      ['groupNorm input gradient', () => tf.grad((v: tf.Tensor) => tf.mul(groupNorm(v, gamma, beta, 4), x).sum())(x)],
      ['resizeNearestNeighbor', () => tf.image.resizeNearestNeighbor(small, [16, 34])],
      ['concat', () => tf.concat([x, small, x], 1)],
      ['transpose', () => tf.transpose(x, [0, 3, 1, 2])],
      ['slice', () => tf.slice(x, [0, 0, 0, 1], [2, 16, 17, 31])],
      ['pad (zero padding: the recycled array must still be zero-filled)', () => tf.pad(x, [[0, 0], [1, 1], [2, 0], [0, 0]])],
    ];
    for (const [name, run] of cases) {
      const want = run();
      const wantValues = Float32Array.from(want.dataSync());
      // Poison the free list: NaN-filled arrays of the output's length on top of it (several, so that the
      // intermediates of a gradient take theirs too).
      const poison = Array.from({ length: 8 }, () => tf.add(tf.zeros([want.size]), 0));
      const mems = poison.map((t) => valuesOf(b, t));
      for (const m of mems) m.fill(Number.NaN);
      tf.dispose(poison);
      const got = run();
      expect(mems.includes(valuesOf(b, got)), name).toBe(true); // poisoned memory was reused without a memset
      expect(Array.from(got.dataSync()), name).toEqual(Array.from(wantValues));
      tf.dispose([want, got]);
    }
    tf.dispose([x, qkv, q, small, gamma, beta, film]);
  });

  it('caps the free lists at a quarter of memory (at most 8 GiB) unless DIFFIQA_POOL_MB says otherwise', () => {
    const GiB = 2 ** 30;
    expect(poolCapBytes(undefined, 16 * GiB)).toBe(4 * GiB);
    expect(poolCapBytes('', 64 * GiB)).toBe(8 * GiB);
    expect(poolCapBytes('1024', 16 * GiB)).toBe(GiB);
    expect(poolCapBytes('0', 16 * GiB)).toBe(0);
    for (const bad of ['lots', '-5', 'Infinity']) expect(() => poolCapBytes(bad, GiB)).toThrow(/DIFFIQA_POOL_MB/);
  });
});
