// Fused UNet layers (unet_ops.h). Elementwise sweeps are split across the pool in contiguous ranges; reductions use
// per-task partials combined in double in task order, so results do not depend on thread timing.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "conv.h"
#include "data_movement.h"
#include "fast_math.h"
#include "gemm.h"
#include "isa.h"
#include "thread_pool.h"
#include "unet_ops.h"

namespace diffiqa {

namespace {

constexpr int64_t kMinChunk = 16384;

DIFFIQA_KERNEL_BODY void siluRangeBody(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v / (1.f + fastExp(-v));
  }
}
DIFFIQA_MULTIVERSION(siluRange, (const float* x, float* y, int64_t n), (x, y, n))

DIFFIQA_KERNEL_BODY void siluGradRangeBody(const float* dy, const float* x, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float s = 1.f / (1.f + fastExp(-v));
    dx[i] = dy[i] * s * (1.f + v * (1.f - s));
  }
}
DIFFIQA_MULTIVERSION(siluGradRange, (const float* dy, const float* x, float* dx, int64_t n), (dy, x, dx, n))

/// Sum of x[0..C) with 16 independent lanes (vectorises without reassociation flags).
inline float laneSum(const float* x, int64_t C) {
  float acc[16] = {};
  int64_t c = 0;
  for (; c + 16 <= C; c += 16)
    for (int j = 0; j < 16; ++j) acc[j] += x[c + j];
  float s = 0.f;
  for (; c < C; ++c) s += x[c];
  for (int j = 0; j < 16; ++j) s += acc[j];
  return s;
}

/// y = (x - mu) * rs * g (+ res) for rows r..r+n, mu and rs per row (contraction off: see channelNormRowsScalar).
__attribute__((always_inline, optimize("fp-contract=off"))) inline void normalizeRows(const float* x, const float* g, const float* res, float* y, const float* mu, const float* rs, int64_t r, int n, int64_t C) {
  for (int i = 0; i < n; ++i) {
    const float* xr = x + (r + i) * C;
    float* yr = y + (r + i) * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mu[i]) * rs[i] * g[c];
    if (res != nullptr)
      for (int64_t c = 0; c < C; ++c) yr[c] = yr[c] + res[(r + i) * C + c];
  }
}

/// With `res` the residual add of the attention block follows in the same sweep. Multiply-add contraction is off so
/// that y = (x - mu) * rs * g + res rounds the product before the add, as the separate Add did (the norm itself has no
/// multiply followed by an add, so its bits do not change).
__attribute__((always_inline, optimize("fp-contract=off"))) inline void channelNormRowsScalar(const float* x, const float* g, const float* res, float* y, float* mean, float* rstd, int64_t r0, int64_t r1, int64_t C, float eps) {
  const float invC = 1.f / static_cast<float>(C);
  // Four rows per step, each statement over all four: their sums are chains of dependent additions (horizontal, in
  // a fixed order), and four independent chains keep the adder busy where one row at a time waited on each.
  constexpr int R = 4;
  for (int64_t r = r0; r < r1; r += R) {
    const int n = static_cast<int>(std::min<int64_t>(R, r1 - r));
    float mu[R], rs[R];
    for (int i = 0; i < n; ++i) mu[i] = laneSum(x + (r + i) * C, C) * invC;
    for (int i = 0; i < n; ++i) {
      const float* xr = x + (r + i) * C;
      float* yr = y + (r + i) * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = xr[c] - mu[i];
        yr[c] = d * d;  // scratch: squared deviations
      }
    }
    for (int i = 0; i < n; ++i) rs[i] = 1.f / std::sqrt(laneSum(y + (r + i) * C, C) * invC + eps);
    normalizeRows(x, g, res, y, mu, rs, r, n, C);
    for (int i = 0; i < n; ++i) {
      mean[r + i] = mu[i];
      rstd[r + i] = rs[i];
    }
  }
}

typedef float Floats16 __attribute__((vector_size(64)));
typedef int32_t Ints16 __attribute__((vector_size(64)));

/// Transposes the 16 x 16 block v (row i in v[i]) in place. Stage b exchanges bit b of the row index with bit b of the
/// column index, so after every bit each element has moved from (i, j) to (j, i); each new row is one two-input
/// shuffle of a pair of old rows (a vpermt2ps on AVX-512).
__attribute__((always_inline)) inline void transpose16(Floats16* v) {
#pragma GCC unroll 8
  for (int b = 1; b < 16; b <<= 1) {
    Ints16 lo, hi;
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      lo[j] = (j & b) ? 16 + (j & ~b) : j;
      hi[j] = (j & b) ? 16 + j : (j | b);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      if (!(i & b)) {
        const Floats16 a = v[i], d = v[i | b];
        v[i] = __builtin_shuffle(a, d, lo);
        v[i | b] = __builtin_shuffle(a, d, hi);
      }
  }
}

/// laneSum of (f(x[i * C + c]) over c) for the 16 rows i of x (C a multiple of 16), as one vector over the rows: the
/// same additions in the same order (16 lane sums over the channel blocks, then the lanes in order), but each of them
/// one vertical add for 16 rows, after transposing 16 x 16 blocks, where the horizontal sums were chains of dependent
/// scalar additions.
template <typename F>
__attribute__((always_inline)) inline Floats16 laneSumRows16(const float* x, int64_t C, F f) {
  Floats16 acc[16] = {};
  for (int64_t c = 0; c < C; c += 16) {
    Floats16 t[16];
    for (int i = 0; i < 16; ++i) std::memcpy(&t[i], x + i * C + c, sizeof(Floats16));
    transpose16(t);
    for (int j = 0; j < 16; ++j) acc[j] += f(t[j]);
  }
  Floats16 s = {};
  for (int j = 0; j < 16; ++j) s += acc[j];
  return s;
}

/// channelNormRowsScalar, bit for bit, with the row sums of 16 rows at a time computed across the rows (laneSumRows)
/// when C is a multiple of 16 (the LinearAttention blocks' 16, 32 and 64) on AVX-512: [40,112,112,16] 2.9 -> 2.0 ms,
/// with the residual 3.3 -> 2.6. On AVX2 the same code with 8-row transposes measured 1.4x slower than the scalar
/// version (GCC builds each two-input 8-lane shuffle from several permutes), so the scalar version takes it, and the
/// rest.
template <int REGS>
__attribute__((always_inline, optimize("fp-contract=off"))) inline void channelNormRowsBody(const float* x, const float* g, const float* res, float* y, float* mean, float* rstd, int64_t r0, int64_t r1, int64_t C, float eps) {
  int64_t r = r0;
  if (REGS == 32 && C % 16 == 0) {
    const float invC = 1.f / static_cast<float>(C);
    for (; r + 16 <= r1; r += 16) {
      const float* xr = x + r * C;
      const Floats16 mu = laneSumRows16(xr, C, [](Floats16 t) { return t; }) * invC;
      const Floats16 ss = laneSumRows16(xr, C, [&](Floats16 t) {
        const Floats16 d = t - mu;
        return d * d;
      }) * invC;
      float m[16], rs[16];
      for (int i = 0; i < 16; ++i) {
        m[i] = mu[i];
        rs[i] = 1.f / std::sqrt(ss[i] + eps);
      }
      normalizeRows(x, g, res, y, m, rs, r, 16, C);
      std::memcpy(mean + r, m, sizeof m);
      std::memcpy(rstd + r, rs, sizeof rs);
    }
  }
  if (r < r1) channelNormRowsScalar(x, g, res, y, mean, rstd, r, r1, C, eps);
}
DIFFIQA_MULTIVERSION_REGS_ATTR(__attribute__((optimize("fp-contract=off"))), channelNormRows, (const float* x, const float* g, const float* res, float* y, float* mean, float* rstd, int64_t r0, int64_t r1, int64_t C, float eps), (x, g, res, y, mean, rstd, r0, r1, C, eps))

DIFFIQA_KERNEL_BODY void channelNormGradRowsBody(const float* dy, const float* x, const float* g, const float* mean, const float* rstd, float* dx, float* dgAcc, int64_t r0, int64_t r1, int64_t C) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    const float* dr = dy + r * C;
    float* out = dx + r * C;
    const float mu = mean[r], rs = rstd[r];
    // out as scratch: first dxhat = dy * g, then dxhat * xhat.
    float s1 = 0.f, s2 = 0.f;
    {
      float a1[16] = {}, a2[16] = {};
      int64_t c = 0;
      for (; c + 16 <= C; c += 16)
        for (int j = 0; j < 16; ++j) {
          const float xh = (xr[c + j] - mu) * rs;
          const float dh = dr[c + j] * g[c + j];
          a1[j] += dh;
          a2[j] += dh * xh;
          dgAcc[c + j] += dr[c + j] * xh;
        }
      for (; c < C; ++c) {
        const float xh = (xr[c] - mu) * rs;
        const float dh = dr[c] * g[c];
        s1 += dh;
        s2 += dh * xh;
        dgAcc[c] += dr[c] * xh;
      }
      for (int j = 0; j < 16; ++j) {
        s1 += a1[j];
        s2 += a2[j];
      }
    }
    const float m1 = s1 * invC, m2 = s2 * invC;
    for (int64_t c = 0; c < C; ++c) {
      const float xh = (xr[c] - mu) * rs;
      out[c] = rs * (dr[c] * g[c] - m1 - xh * m2);
    }
  }
}
DIFFIQA_MULTIVERSION(channelNormGradRows, (const float* dy, const float* x, const float* g, const float* mean, const float* rstd, float* dx, float* dgAcc, int64_t r0, int64_t r1, int64_t C), (dy, x, g, mean, rstd, dx, dgAcc, r0, r1, C))

/// Tasks over (batch, chunk of N). The chunk size is fixed, not derived from the batch size or the thread count:
/// the per-chunk partial sums (and the key softmax's per-chunk maxima) are combined in chunk order, so a fixed
/// chunking makes an image's result independent of its batch and of the pool, and a sharded label run equal to an
/// unsharded one bit for bit. 256 rows give 4 chunks at 28x28 and 49 at 112x112: enough tasks for the pool.
struct Chunks {
  int64_t perBatch, size;
};

constexpr int64_t kChunkRows = 256;

Chunks chunksOf(int64_t N) {
  const int64_t size = std::max<int64_t>(1, std::min(N, kChunkRows));
  return {(N + size - 1) / size, size};
}

DIFFIQA_KERNEL_BODY void keyMaxRangeBody(const float* __restrict k, int64_t row, int64_t hd, int64_t n, float* __restrict m) {
  for (int64_t i = 0; i < n; ++i, k += row)
    for (int64_t c = 0; c < hd; ++c) m[c] = k[c] > m[c] ? k[c] : m[c];
}
DIFFIQA_MULTIVERSION(keyMaxRange, (const float* k, int64_t row, int64_t hd, int64_t n, float* m), (k, row, hd, n, m))

struct LinAttn {
  int64_t B, N, H, D;
  int64_t hd() const { return H * D; }
  int64_t row() const { return 3 * H * D; }
};


/// acc[h, j, e] += sum over n < count of l(n, h, j) * r(n, h, e), l and r rows of H*D at strides ls and rs.
template <int DC>
__attribute__((always_inline)) inline void outerAccumulateT(int64_t H, int64_t Dr, int64_t count,
                                                            const float* __restrict l, int64_t ls,
                                                            const float* __restrict r, int64_t rs,
                                                            float* __restrict acc) {
  const int64_t D = DC > 0 ? DC : Dr;
  if constexpr (DC > 0) {
    // JB output rows (h, j0..j0+JB) at a time, their JB x DC sums in registers (64 floats: 8 AVX2 registers) across
    // the whole block of input rows: JB independent multiply-add chains per input row. One row at a time was a single
    // chain, bound by the multiply-add latency (3x slower at DC = 8). Each sum still runs over n in order.
    constexpr int JB = DC >= 64 ? 1 : 64 / DC;
    typedef float Row __attribute__((vector_size(DC * sizeof(float))));
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j0 = 0; j0 < DC; j0 += JB) {
        Row a[JB] = {};
        const float* lp = l + h * DC + j0;
        const float* rp = r + h * DC;
        for (int64_t n = 0; n < count; ++n) {
          const float* lv = lp + n * ls;
          Row rv;
          std::memcpy(&rv, rp + n * rs, sizeof(Row));
          for (int jj = 0; jj < JB; ++jj) a[jj] += lv[jj] * rv;
        }
        for (int jj = 0; jj < JB; ++jj) {
          Row out;
          float* o = acc + (h * DC + j0 + jj) * DC;
          std::memcpy(&out, o, sizeof(Row));
          out += a[jj];
          std::memcpy(o, &out, sizeof(Row));
        }
      }
  } else {
    for (int64_t n = 0; n < count; ++n, l += ls, r += rs)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < D; ++j) {
          const float lv = l[h * D + j];
          float* out = acc + (h * D + j) * D;
          const float* rv = r + h * D;
          for (int64_t e = 0; e < D; ++e) out[e] += lv * rv[e];
        }
  }
}

DIFFIQA_KERNEL_BODY void outerAccumulateBody(int64_t H, int64_t D, int64_t count, const float* l, int64_t ls, const float* r, int64_t rs, float* acc) {
  switch (D) {
    case 8: return outerAccumulateT<8>(H, D, count, l, ls, r, rs, acc);
    case 16: return outerAccumulateT<16>(H, D, count, l, ls, r, rs, acc);
    case 32: return outerAccumulateT<32>(H, D, count, l, ls, r, rs, acc);
    default: return outerAccumulateT<0>(H, D, count, l, ls, r, rs, acc);
  }
}
DIFFIQA_MULTIVERSION(outerAccumulate, (int64_t H, int64_t D, int64_t count, const float* l, int64_t ls, const float* r, int64_t rs, float* acc), (H, D, count, l, ls, r, rs, acc))

/// The key softmax's numerators and their column sums in one pass: l[n, c] = exp(k[n, c] - m[c]) for n < count (k rows
/// at stride `row`), s[c] += l[n, c] in row order.
DIFFIQA_KERNEL_BODY void keyExpRowsBody(const float* __restrict k, int64_t row, int64_t hd, int64_t count, const float* __restrict m, float* __restrict l, float* __restrict s) {
  for (int64_t n = 0; n < count; ++n, k += row, l += hd)
    for (int64_t c = 0; c < hd; ++c) {
      l[c] = fastExpNonPositive(k[c] - m[c]);
      s[c] += l[c];
    }
}
DIFFIQA_MULTIVERSION(keyExpRows, (const float* __restrict k, int64_t row, int64_t hd, int64_t count, const float* __restrict m, float* __restrict l, float* __restrict s), (k, row, hd, count, m, l, s))

/// Sum over n of left ⊗ right per (b, h) as [B, H, D, D], from per-task partials added in double in task order.
template <typename TaskFn>
std::vector<float> reduceOuter(const LinAttn& a, TaskFn task) {
  const int64_t dd = a.H * a.D * a.D;
  const Chunks ch = chunksOf(a.N);
  const int64_t tasks = a.B * ch.perBatch;
  std::vector<float> part(static_cast<size_t>(tasks * dd), 0.f);
  pool().run(tasks, [&](int64_t t, int) {
    const int64_t b = t / ch.perBatch, n0 = (t % ch.perBatch) * ch.size, n1 = std::min(a.N, n0 + ch.size);
    task(b, n0, n1, part.data() + t * dd);
  });
  std::vector<double> sum(static_cast<size_t>(a.B * dd), 0.0);
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t i = 0; i < dd; ++i) sum[(t / ch.perBatch) * dd + i] += part[t * dd + i];
  return std::vector<float>(sum.begin(), sum.end());
}

/// p = softmax(q[0..D)) per head, times `scale`.
template <int DC>
__attribute__((always_inline)) inline void headSoftmaxT(const float* q, int64_t H, int64_t Dr, float scale, float* p) {
  const int64_t D = DC > 0 ? DC : Dr;
  for (int64_t h = 0; h < H; ++h) {
    const float* qh = q + h * D;
    float* ph = p + h * D;
    float m = qh[0];
    for (int64_t j = 1; j < D; ++j) m = std::max(m, qh[j]);
    float s = 0.f;
    for (int64_t j = 0; j < D; ++j) {
      ph[j] = fastExp(qh[j] - m);
      s += ph[j];
    }
    const float inv = scale / s;
    for (int64_t j = 0; j < D; ++j) ph[j] *= inv;
  }
}

/// Rows of softmax_D(q) * scale for n < count, into l (rows of H * D). The same arithmetic as headSoftmaxT row by
/// row, in three passes over the block: the subtracted maxima, then every exponential in one loop (it vectorises;
/// interleaved with each head's running sum, it ran scalar), then each head's sum over j in order and the scaling,
/// whose chains of dependent additions and divisions then overlap across heads and rows. With a compile-time D each
/// head is one vector (GCC vector extensions): left alone, GCC vectorised the maxima across heads with permutes.
template <int DC>
__attribute__((always_inline)) inline void queryRowsT(const float* q, int64_t row, int64_t H, int64_t Dr, int64_t count, float scale, float* l) {
  const int64_t D = DC > 0 ? DC : Dr;
  const int64_t hd = H * D;
  if constexpr (DC > 0) {
    typedef float Row __attribute__((vector_size((DC > 1 ? DC : 2) * sizeof(float))));
    for (int64_t n = 0; n < count; ++n)
      for (int64_t h = 0; h < H; ++h) {
        const float* qh = q + n * row + h * DC;
        float m = qh[0];
        for (int j = 1; j < DC; ++j) m = std::max(m, qh[j]);
        Row v;
        std::memcpy(&v, qh, sizeof(Row));
        v -= m;
        std::memcpy(l + n * hd + h * DC, &v, sizeof(Row));
      }
    for (int64_t i = 0; i < count * hd; ++i) l[i] = fastExpNonPositive(l[i]);
    for (int64_t i = 0; i < count * H; ++i) {
      float s = 0.f;
      for (int j = 0; j < DC; ++j) s += l[i * DC + j];
      Row v;
      std::memcpy(&v, l + i * DC, sizeof(Row));
      v *= scale / s;
      std::memcpy(l + i * DC, &v, sizeof(Row));
    }
  } else {
    for (int64_t n = 0; n < count; ++n, q += row, l += hd) headSoftmaxT<DC>(q, H, D, scale, l);
  }
}

DIFFIQA_KERNEL_BODY void queryRowsBody(const float* q, int64_t row, int64_t H, int64_t D, int64_t count, float scale, float* l) {
  switch (D) {
    case 8: return queryRowsT<8>(q, row, H, D, count, scale, l);
    case 16: return queryRowsT<16>(q, row, H, D, count, scale, l);
    case 32: return queryRowsT<32>(q, row, H, D, count, scale, l);
    default: return queryRowsT<0>(q, row, H, D, count, scale, l);
  }
}
DIFFIQA_MULTIVERSION(queryRows, (const float* q, int64_t row, int64_t H, int64_t D, int64_t count, float scale, float* l), (q, row, H, D, count, scale, l))

constexpr int64_t kRowBlock = 256;  // rows of transformed keys/queries staged per outerAccumulate call

/// Keys and values of `count` consecutive rows of one image: k at k + n * stride, v at v + n * stride.
struct KeyValueRows {
  const float* k;
  const float* v;
  int64_t stride;
};

/// Key/value rows read from a qkv tensor [B, N, 3 * H * D].
struct QkvRows {
  const float* qkv;
  int64_t N, hd;
  KeyValueRows operator()(int64_t b, int64_t n0, int64_t /*count*/) const {
    const float* r = qkv + (b * N + n0) * 3 * hd;
    return {r + hd, r + 2 * hd, 3 * hd};
  }
};

/// One pass over k and v: the key softmax statistics (kmax, kinv = 1 / sum exp(k - kmax)) and
/// ctx [B, H, D, D] = sum_n softmax_N(k)[n, h, j] * v[n, h, e] / N. `source(b, n0, count)` gives the KeyValueRows of
/// rows [n0, n0 + count) of image b (QkvRows, or a projection computed on the spot). Each task keeps a running max per
/// key channel and rescales its partial sums when the max grows (online softmax); partials are combined in double, in
/// task order.
template <typename RowSource>
void keyContext(const LinAttn& a, const RowSource& source, std::vector<float>& kmax, std::vector<float>& kinv,
                std::vector<float>& ctx) {
  const int64_t hd = a.hd(), D = a.D, dd = a.H * a.D * a.D;
  const Chunks ch = chunksOf(a.N);
  const int64_t tasks = a.B * ch.perBatch;
  std::vector<float> tMax(static_cast<size_t>(tasks * hd), -INFINITY), tSum(static_cast<size_t>(tasks * hd), 0.f);
  std::vector<float> tCtx(static_cast<size_t>(tasks * dd), 0.f);
  pool().run(tasks, [&](int64_t t, int) {
    const int64_t b = t / ch.perBatch, n0 = (t % ch.perBatch) * ch.size, n1 = std::min(a.N, n0 + ch.size);
    float* m = tMax.data() + t * hd;
    float* sum = tSum.data() + t * hd;
    float* acc = tCtx.data() + t * dd;
    std::vector<float> l(static_cast<size_t>(kRowBlock * hd)), bm(static_cast<size_t>(hd));
    for (int64_t s0 = n0; s0 < n1; s0 += kRowBlock) {
      const int64_t cnt = std::min(kRowBlock, n1 - s0);
      const KeyValueRows kv = source(b, s0, cnt);
      std::copy(m, m + hd, bm.begin());
      keyMaxRange(kv.k, kv.stride, hd, cnt, bm.data());
      for (int64_t c = 0; c < hd; ++c) {
        if (!(bm[c] > m[c])) continue;
        const float f = m[c] == -INFINITY ? 0.f : std::exp(m[c] - bm[c]);
        sum[c] *= f;
        for (int64_t e = 0; e < D; ++e) acc[c * D + e] *= f;
        m[c] = bm[c];
      }
      keyExpRows(kv.k, kv.stride, hd, cnt, m, l.data(), sum);
      outerAccumulate(a.H, a.D, cnt, l.data(), hd, kv.v, kv.stride, acc);
    }
  });
  kmax.assign(static_cast<size_t>(a.B * hd), -INFINITY);
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t c = 0; c < hd; ++c) {
      float& mm = kmax[(t / ch.perBatch) * hd + c];
      mm = std::max(mm, tMax[t * hd + c]);
    }
  std::vector<double> S(static_cast<size_t>(a.B * hd), 0.0), C(static_cast<size_t>(a.B * dd), 0.0);
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t b = t / ch.perBatch;
    for (int64_t c = 0; c < hd; ++c) {
      const float tm = tMax[t * hd + c];
      if (tm == -INFINITY) continue;  // an empty task
      const double f = std::exp(static_cast<double>(tm) - kmax[b * hd + c]);
      S[b * hd + c] += f * tSum[t * hd + c];
      for (int64_t e = 0; e < D; ++e) C[b * dd + c * D + e] += f * tCtx[t * dd + c * D + e];
    }
  }
  kinv.resize(static_cast<size_t>(a.B * hd));
  ctx.resize(static_cast<size_t>(a.B * dd));
  for (int64_t b = 0; b < a.B; ++b)
    for (int64_t c = 0; c < hd; ++c) {
      const double inv = 1.0 / S[b * hd + c];
      kinv[b * hd + c] = static_cast<float>(inv);
      for (int64_t e = 0; e < D; ++e)
        ctx[b * dd + c * D + e] = static_cast<float>(C[b * dd + c * D + e] * inv / static_cast<double>(a.N));
    }
}

/// attendRowsT's arithmetic on 16 rows of one image at once, for heads of D = 8 in pairs, with the rows across the
/// 16 lanes of one vector (after a 16x16 transpose of each head pair's columns) where attendRowsT runs one row at a
/// time: the query softmax's maxima and sums over the 8 features were scalar chains, and each head's output an 8-lane
/// half register. The same operations on the same values in the same order (outputs dumped from both versions
/// compare equal): the maxima as compare-selects, the sums from zero, p = e * (scale / s), and each output
/// sum_j p_j c_j from zero with every product rounded before its add, as the 8-lane code computes it on AVX-512
/// (256-bit multiply-adds need the separate FMA feature that the avx512f target lacks, so GCC does not contract
/// them there; the empty asm keeps it from contracting these 512-bit ones). q rows at q + i * qStride, ctx of this
/// image [H, 8, 8], out rows of H * 8 at out + i * H * 8.
__attribute__((always_inline)) inline void attendSixteenRows(const float* q, int64_t qStride, const float* ctx, float* out, int64_t H, float scale) {
  using V = Floats16;
  const int64_t hd = H * 8;
  for (int64_t hp = 0; hp < H; hp += 2) {
    V t[16];
    for (int i = 0; i < 16; ++i) std::memcpy(&t[i], q + i * qStride + hp * 8, sizeof(V));
    transpose16(t);  // t[k * 8 + j]: feature j of head hp + k, over the 16 rows
    alignas(64) float e[256];
    for (int k = 0; k < 2; ++k) {
      V m = t[k * 8];
      for (int j = 1; j < 8; ++j) m = m < t[k * 8 + j] ? t[k * 8 + j] : m;  // std::max(m, q_j)
      for (int j = 0; j < 8; ++j) {
        const V d = t[k * 8 + j] - m;
        std::memcpy(e + (k * 8 + j) * 16, &d, sizeof(V));
      }
    }
    for (int i = 0; i < 256; ++i) e[i] = fastExpNonPositive(e[i]);
    V o[16];
    for (int k = 0; k < 2; ++k) {
      V p[8];
      V s = V{};
      for (int j = 0; j < 8; ++j) {
        std::memcpy(&p[j], e + (k * 8 + j) * 16, sizeof(V));
        s = s + p[j];
      }
      const V inv = scale / s;
      for (int j = 0; j < 8; ++j) p[j] = p[j] * inv;
      const float* c = ctx + (hp + k) * 64;
      for (int f = 0; f < 8; ++f) {
        V a = V{};
        for (int j = 0; j < 8; ++j) {
          V prod = p[j] * c[j * 8 + f];
          __asm__("" : "+v"(prod));
          a = a + prod;
        }
        o[k * 8 + f] = a;
      }
    }
    transpose16(o);  // o[i]: row i's outputs for the head pair
    for (int i = 0; i < 16; ++i) std::memcpy(out + i * hd + hp * 8, &o[i], sizeof(V));
  }
}

/// out rows [r0, r1) (flat b*N + n): out[n, h, e] = sum_j q[n, h, j] ctx[b, h, j, e], with the query of row r at
/// q + (r - r0) * qStride; row r is stored at out + (r - outRow0) * H * D. On AVX-512 (REGS 32) with heads of 8 in
/// pairs, each image's rows go 16 at a time through attendSixteenRows, the rest one at a time.
template <int DC, int REGS>
__attribute__((always_inline)) inline void attendRowsT(const float* q, int64_t qStride, const float* ctx, float* out, int64_t outRow0, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t Dr, float scale) {
  const int64_t D = DC > 0 ? DC : Dr;
  const int64_t hd = H * D;
  if constexpr (DC == 8 && REGS == 32) {
    if (H % 2 == 0) {
      for (int64_t r = r0; r < r1;) {
        const int64_t imageEnd = std::min(r1, (r / N + 1) * N);
        for (; r + 16 <= imageEnd; r += 16)
          attendSixteenRows(q + (r - r0) * qStride, qStride, ctx + (r / N) * H * 64, out + (r - outRow0) * hd, H, scale);
        if (r < imageEnd) attendRowsT<DC, 16>(q + (r - r0) * qStride, qStride, ctx, out, outRow0, r, imageEnd, N, H, D, scale);
        r = imageEnd;
      }
      return;
    }
  }
  constexpr int64_t kBlock = 4096;  // floats of query softmaxes staged per block of rows
  float pBlock[kBlock];
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(16, kBlock / hd));
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / N;
    const int64_t k = (r - r0) % rows;
    if (k == 0) queryRowsT<DC>(q + (r - r0) * qStride, qStride, H, D, std::min(rows, r1 - r), scale, pBlock);
    const float* p = pBlock + k * hd;
    float* __restrict o = out + (r - outRow0) * hd;
    if constexpr (DC > 0) {
      // GCC vector extensions: one DC-wide register row per head (left alone, the compiler SLP-vectorises across j
      // with permutes and runs several times slower).
      typedef float Row __attribute__((vector_size(DC * sizeof(float))));
      for (int64_t h = 0; h < H; ++h) {
        Row a = {};
        const float* ch = ctx + (b * H + h) * DC * DC;
        for (int j = 0; j < DC; ++j) {
          Row c;
          std::memcpy(&c, ch + j * DC, sizeof(Row));
          a += p[h * DC + j] * c;
        }
        std::memcpy(o + h * DC, &a, sizeof(Row));
      }
    } else {
      for (int64_t c = 0; c < hd; ++c) o[c] = 0.f;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < D; ++j) {
          const float pv = p[h * D + j];
          const float* c = ctx + ((b * H + h) * D + j) * D;
          float* oh = o + h * D;
          for (int64_t e = 0; e < D; ++e) oh[e] += pv * c[e];
        }
    }
  }
}

template <int REGS>
DIFFIQA_KERNEL_BODY void attendRowsBody(const float* q, int64_t qStride, const float* ctx, float* out, int64_t outRow0, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t D, float scale) {
  switch (D) {
    case 8: return attendRowsT<8, REGS>(q, qStride, ctx, out, outRow0, r0, r1, N, H, D, scale);
    case 16: return attendRowsT<16, REGS>(q, qStride, ctx, out, outRow0, r0, r1, N, H, D, scale);
    case 32: return attendRowsT<32, REGS>(q, qStride, ctx, out, outRow0, r0, r1, N, H, D, scale);
    default: return attendRowsT<0, REGS>(q, qStride, ctx, out, outRow0, r0, r1, N, H, D, scale);
  }
}
DIFFIQA_MULTIVERSION_REGS(attendRows, (const float* q, int64_t qStride, const float* ctx, float* out, int64_t outRow0, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t D, float scale), (q, qStride, ctx, out, outRow0, r0, r1, N, H, D, scale))

/// sum_j a[j] b[j] over D: 8 interleaved partial sums when D is a multiple of 8 (they vectorise; one running sum
/// would be a chain of D dependent multiply-adds), added in a fixed order.
template <int DC>
__attribute__((always_inline)) inline float dotD(const float* a, const float* b, int64_t D) {
  if constexpr (DC > 0 && DC % 8 == 0) {
    float part[8] = {};
    for (int64_t j0 = 0; j0 < DC; j0 += 8)
      for (int l = 0; l < 8; ++l) part[l] += a[j0 + l] * b[j0 + l];
    return ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
  } else {
    float s = 0.f;
    for (int64_t j = 0; j < D; ++j) s += a[j] * b[j];
    return s;
  }
}

/// out[0, D) = sum_i (c[i] f) m[i, 0, D): a combination of the rows of the D x D matrix m, summed in `out` (measured
/// faster in the backward, on both ISAs, than in a register row as attendRowsT sums).
template <int DC>
__attribute__((always_inline)) inline void combineRows(const float* c, float f, const float* m, int64_t Dr, float* out) {
  const int64_t D = DC > 0 ? DC : Dr;
  for (int64_t e = 0; e < D; ++e) out[e] = 0.f;
  for (int64_t i = 0; i < D; ++i) {
    const float ci = c[i] * f;
    for (int64_t e = 0; e < D; ++e) out[e] += ci * m[i * D + e];
  }
}

/// dqkv rows [r0, r1) of the LinearAttention backward (see linearAttentionBackward). ctxT and dctxT are ctx and dctx
/// transposed per (batch, head): the D x D products below are then sums of their rows, which vectorise over the
/// output index (as dot products over e they were chains of dependent multiply-adds, half the backward's time).
template <int DC>
__attribute__((always_inline)) inline void backwardRowsT(const float* dout, const float* qkv, float* dqkv, const float* ctxT, const float* dctx, const float* dctxT, const float* colDot, const float* kmax, const float* kinv, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t Dr) {
  const int64_t D = DC > 0 ? DC : Dr;
  const int64_t hd = H * D, row = 3 * hd;
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  const float invN = 1.f / static_cast<float>(N);
  float p[4096], k[4096];
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / N;
    const float* in = qkv + r * row;
    const float* g = dout + r * hd;
    float* dq = dqkv + r * row;
    float* dk = dq + hd;
    float* dv = dq + 2 * hd;
    headSoftmaxT<DC>(in, H, D, 1.f, p);
    for (int64_t c = 0; c < hd; ++c) k[c] = fastExp(in[hd + c] - kmax[b * hd + c]) * kinv[b * hd + c];
    for (int64_t h = 0; h < H; ++h) {
      const float* ctxTH = ctxT + (b * H + h) * D * D;
      const float* dctxH = dctx + (b * H + h) * D * D;
      const float* dctxTH = dctxT + (b * H + h) * D * D;
      const float* gh = g + h * D;
      const float* vh = in + 2 * hd + h * D;
      const float* ph = p + h * D;
      float* dqh = dq + h * D;
      float* dkh = dk + h * D;
      float* dvh = dv + h * D;
      // dq = scale * ctx g, then its softmax-over-D backward.
      combineRows<DC>(gh, scale, ctxTH, D, dqh);
      const float dot = dotD<DC>(dqh, ph, D);
      for (int64_t j = 0; j < D; ++j) dqh[j] = ph[j] * (dqh[j] - dot);
      // dk = (v / N) dctx^T, then the softmax-over-N backward with the column term.
      combineRows<DC>(vh, 1.f, dctxTH, D, dkh);
      for (int64_t j = 0; j < D; ++j) dkh[j] = k[h * D + j] * (dkh[j] * invN - colDot[b * hd + h * D + j]);
      // dv = k dctx / N.
      combineRows<DC>(k + h * D, invN, dctxH, D, dvh);
    }
  }
}

DIFFIQA_KERNEL_BODY void backwardRowsBody(const float* dout, const float* qkv, float* dqkv, const float* ctxT, const float* dctx, const float* dctxT, const float* colDot, const float* kmax, const float* kinv, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t D) {
  switch (D) {
    case 8: return backwardRowsT<8>(dout, qkv, dqkv, ctxT, dctx, dctxT, colDot, kmax, kinv, r0, r1, N, H, D);
    case 16: return backwardRowsT<16>(dout, qkv, dqkv, ctxT, dctx, dctxT, colDot, kmax, kinv, r0, r1, N, H, D);
    case 32: return backwardRowsT<32>(dout, qkv, dqkv, ctxT, dctx, dctxT, colDot, kmax, kinv, r0, r1, N, H, D);
    default: return backwardRowsT<0>(dout, qkv, dqkv, ctxT, dctx, dctxT, colDot, kmax, kinv, r0, r1, N, H, D);
  }
}
DIFFIQA_MULTIVERSION(backwardRows, (const float* dout, const float* qkv, float* dqkv, const float* ctxT, const float* dctx, const float* dctxT, const float* colDot, const float* kmax, const float* kinv, int64_t r0, int64_t r1, int64_t N, int64_t H, int64_t D), (dout, qkv, dqkv, ctxT, dctx, dctxT, colDot, kmax, kinv, r0, r1, N, H, D))

/// Output rows [n0, n1) of one attention group; kT and vT are [D, N], logits scratch of N floats.
/// Query rows handled together by attentionRowsT: their scores share each load of k, their outputs each load of v.
constexpr int64_t kAttnRows = 4;

/// Softmax attention for query rows [n0, n1) of one group: out[n] = softmax(scale q[n] k^T) v, with kT, vT [D, N]
/// and p [kAttnRows, N] scratch. Both products keep 16 partial sums per block of 16 keys in registers: the scores of a
/// block sum over j in registers (not D read-modify-write passes over p), and the output sums EB columns of v at once
/// (one column at a time was a single chain of dependent multiply-adds, bound by their latency). Rows go in groups of
/// kAttnRows (scores) and RO (outputs) so that one load of k or v feeds several rows' multiply-adds: the loads, not the
/// arithmetic, bounded this loop. Every sum runs in the order it always has: over j for a score; for an output, over the
/// keys of each of 16 lanes, then the lanes in order. The 16 lanes are one zmm register on AVX-512 and two ymm on the
/// other targets (GCC lowers a 64-byte vector type through the stack there); accumulators fill half the target's REGS.
template <int DC, int REGS>
__attribute__((always_inline)) inline void attentionRowsT(const float* __restrict q, const float* __restrict kT, const float* __restrict vT, float* __restrict out, float* __restrict p, int64_t n0, int64_t n1, int64_t N, int64_t Dr, float scale) {
  constexpr int L = 16, W = REGS == 32 ? 16 : 8, S = L / W, RS = kAttnRows, RO = REGS == 32 ? 2 : 1;
  constexpr int EB = std::min(DC > 0 ? DC : 64, REGS / 2 / S / RO);
  typedef float Vec __attribute__((vector_size(W * sizeof(float))));
  const auto load = [](const float* x) {
    Vec v;
    std::memcpy(&v, x, sizeof(Vec));
    return v;
  };
  const int64_t D = DC > 0 ? DC : Dr;
  const int64_t full = N - N % L;
  for (int64_t n = n0; n < n1; n += RS) {
    const int64_t rows = std::min<int64_t>(RS, n1 - n);
    // Scores of up to RS rows (a missing row repeats the last real one; its p row is never used).
    const float* qr[RS];
    for (int r = 0; r < RS; ++r) qr[r] = q + (n + std::min<int64_t>(r, rows - 1)) * D;
    for (int64_t m = 0; m < full; m += L) {
      Vec a[RS][S] = {};
      for (int64_t j = 0; j < D; ++j)
        for (int s = 0; s < S; ++s) {
          const Vec k = load(kT + j * N + m + s * W);
          for (int r = 0; r < RS; ++r) a[r][s] += (qr[r][j] * scale) * k;
        }
      for (int r = 0; r < RS; ++r) std::memcpy(p + r * N + m, a[r], sizeof(a[r]));
    }
    float inv[RS];
    for (int r = 0; r < rows; ++r) {
      float* pr = p + r * N;
      for (int64_t m = full; m < N; ++m) {
        float a = 0.f;
        for (int64_t j = 0; j < D; ++j) a += (qr[r][j] * scale) * kT[j * N + m];
        pr[m] = a;
      }
      // Running maxima of the 16 lanes as vectors (written per float, GCC left this loop scalar: a sixth of the
      // kernel's time). The same comparisons in the same order per lane.
      Vec mxv[S];
      for (int s = 0; s < S; ++s) mxv[s] = Vec{} - INFINITY;
      for (int64_t m = 0; m < full; m += L)
        for (int s = 0; s < S; ++s) {
          const Vec v = load(pr + m + s * W);
          mxv[s] = v > mxv[s] ? v : mxv[s];
        }
      float mx[L];
      std::memcpy(mx, mxv, sizeof mx);
      float mxAll = -INFINITY;
      for (int64_t m = full; m < N; ++m) mxAll = pr[m] > mxAll ? pr[m] : mxAll;
      for (int l = 0; l < L; ++l) mxAll = mx[l] > mxAll ? mx[l] : mxAll;
      for (int64_t i = 0; i < N; ++i) pr[i] = fastExpNonPositive(pr[i] - mxAll);
      inv[r] = 1.f / laneSum(pr, N);
    }
    // Outputs, RO rows at a time (a missing row reads the last real one's p and is not stored).
    for (int r0 = 0; r0 < rows; r0 += RO) {
      const float* pr[RO];
      for (int r = 0; r < RO; ++r) pr[r] = p + std::min<int64_t>(r0 + r, rows - 1) * N;
      for (int64_t e0 = 0; e0 < D; e0 += EB) {
        const int64_t eb = DC > 0 ? EB : std::min<int64_t>(EB, D - e0);
        Vec acc[RO][EB][S] = {};
        for (int64_t i = 0; i < full; i += L) {
          Vec pv[RO][S];
          for (int r = 0; r < RO; ++r)
            for (int s = 0; s < S; ++s) pv[r][s] = load(pr[r] + i + s * W);
          for (int e = 0; e < EB; ++e) {
            if (DC == 0 && e >= eb) break;
            for (int s = 0; s < S; ++s) {
              const Vec v = load(vT + (e0 + e) * N + i + s * W);
              for (int r = 0; r < RO; ++r) acc[r][e][s] += pv[r][s] * v;
            }
          }
        }
        for (int r = 0; r < RO && r0 + r < rows; ++r)
          for (int64_t e = 0; e < eb; ++e) {
            const float* ve = vT + (e0 + e) * N;
            float sum = 0.f;
            for (int64_t i = full; i < N; ++i) sum += pr[r][i] * ve[i];
            for (int s = 0; s < S; ++s)
              for (int l = 0; l < W; ++l) sum += acc[r][e][s][l];
            out[(n + r0 + r) * D + e0 + e] = sum * inv[r0 + r];
          }
      }
    }
  }
}

template <int REGS>
DIFFIQA_KERNEL_BODY void attentionRowsBody(const float* __restrict q, const float* __restrict kT, const float* __restrict vT, float* __restrict out, float* __restrict p, int64_t n0, int64_t n1, int64_t N, int64_t D, float scale) {
  switch (D) {
    case 8: return attentionRowsT<8, REGS>(q, kT, vT, out, p, n0, n1, N, D, scale);
    case 16: return attentionRowsT<16, REGS>(q, kT, vT, out, p, n0, n1, N, D, scale);
    case 32: return attentionRowsT<32, REGS>(q, kT, vT, out, p, n0, n1, N, D, scale);
    default: return attentionRowsT<0, REGS>(q, kT, vT, out, p, n0, n1, N, D, scale);
  }
}
DIFFIQA_MULTIVERSION_REGS(attentionRows, (const float* __restrict q, const float* __restrict kT, const float* __restrict vT, float* __restrict out, float* __restrict p, int64_t n0, int64_t n1, int64_t N, int64_t D, float scale), (q, kT, vT, out, p, n0, n1, N, D, scale))

/// Backward of one attention group, serially over its query rows. kT, vT [D, N]; dkT, dvT [D, N] accumulators
/// (zeroed by the caller); p, dp scratch of N floats. dq rows written directly.
DIFFIQA_KERNEL_BODY void attentionBackwardGroupBody(const float* __restrict q, const float* __restrict kT, const float* __restrict vT, const float* __restrict dout, float* __restrict dq, float* __restrict dkT, float* __restrict dvT, float* __restrict p, float* __restrict dp, int64_t N, int64_t D, float scale) {
  for (int64_t n = 0; n < N; ++n) {
    const float* qn = q + n * D;
    const float* gn = dout + n * D;
    // p = softmax(scale * q k^T) row, dp = dout v^T row.
    for (int64_t m = 0; m < N; ++m) p[m] = 0.f, dp[m] = 0.f;
    for (int64_t j = 0; j < D; ++j) {
      const float qj = qn[j] * scale, gj = gn[j];
      const float* kj = kT + j * N;
      const float* vj = vT + j * N;
      for (int64_t m = 0; m < N; ++m) {
        p[m] += qj * kj[m];
        dp[m] += gj * vj[m];
      }
    }
    float mx = -INFINITY;
    for (int64_t m = 0; m < N; ++m) mx = p[m] > mx ? p[m] : mx;
    for (int64_t m = 0; m < N; ++m) p[m] = fastExpNonPositive(p[m] - mx);
    const float inv = 1.f / laneSum(p, N);
    float dot[16] = {};
    int64_t m = 0;
    for (; m + 16 <= N; m += 16)
      for (int l = 0; l < 16; ++l) {
        p[m + l] *= inv;
        dot[l] += p[m + l] * dp[m + l];
      }
    float pd = 0.f;
    for (; m < N; ++m) {
      p[m] *= inv;
      pd += p[m] * dp[m];
    }
    for (int l = 0; l < 16; ++l) pd += dot[l];
    // ds = p * (dp - pd) * scale (kept in dp); dv^T[e, :] += p * dout[n, e]; dk^T[j, :] += ds * q[n, j].
    for (int64_t i = 0; i < N; ++i) dp[i] = p[i] * (dp[i] - pd) * scale;
    for (int64_t e = 0; e < D; ++e) {
      const float ge = gn[e], qe = qn[e];
      float* dve = dvT + e * N;
      float* dke = dkT + e * N;
      for (int64_t i = 0; i < N; ++i) {
        dve[i] += p[i] * ge;
        dke[i] += dp[i] * qe;
      }
    }
    // dq[n, j] = sum_m ds[m] k[m, j].
    for (int64_t j = 0; j < D; ++j) {
      const float* kj = kT + j * N;
      float acc[16] = {};
      int64_t i = 0;
      for (; i + 16 <= N; i += 16)
        for (int l = 0; l < 16; ++l) acc[l] += dp[i + l] * kj[i + l];
      float sacc = 0.f;
      for (; i < N; ++i) sacc += dp[i] * kj[i];
      for (int l = 0; l < 16; ++l) sacc += acc[l];
      dq[n * D + j] = sacc;
    }
  }
}
DIFFIQA_MULTIVERSION(attentionBackwardGroup, (const float* __restrict q, const float* __restrict kT, const float* __restrict vT, const float* __restrict dout, float* __restrict dq, float* __restrict dkT, float* __restrict dvT, float* __restrict p, float* __restrict dp, int64_t N, int64_t D, float scale), (q, kT, vT, dout, dq, dkT, dvT, p, dp, N, D, scale))

void checkAttn(const LinAttn& a) {
  if (a.B < 0 || a.N < 1 || a.H < 1 || a.D < 1 || a.H * a.D > 4096)
    throw std::invalid_argument("linearAttention: bad dims (heads * dimHead must be <= 4096)");
}

/// Each of `mats` D x D matrices transposed (data_movement.h's strided copy).
std::vector<float> transposeHeads(const std::vector<float>& m, int64_t mats, int64_t D) {
  std::vector<float> t(m.size());
  const int64_t shape[3] = {mats, D, D}, srcStrides[3] = {D * D, 1, D}, dstStrides[3] = {D * D, D, 1};
  stridedCopy(reinterpret_cast<const uint32_t*>(m.data()), srcStrides, reinterpret_cast<uint32_t*>(t.data()),
              dstStrides, shape, 3);
  return t;
}

}  // namespace

void siluForward(const float* x, float* y, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) { siluRange(x + i0, y + i0, i1 - i0); }, 4, kMinChunk);
}

void siluBackward(const float* dy, const float* x, float* dx, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) { siluGradRange(dy + i0, x + i0, dx + i0, i1 - i0); }, 4,
                     kMinChunk);
}

void channelNormForward(const float* x, const float* g, float* y, float* mean, float* rstd, int64_t rows, int64_t C,
                        float eps, const float* residual) {
  if (C < 1 || rows < 0) throw std::invalid_argument("channelNorm: bad dims");
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) { channelNormRows(x, g, residual, y, mean, rstd, r0, r1, C, eps); },
                     4, std::max<int64_t>(1, kMinChunk / C));
}

void channelNormBackward(const float* dy, const float* x, const float* g, const float* mean, const float* rstd,
                         float* dx, float* dg, int64_t rows, int64_t C) {
  if (C < 1 || rows < 0) throw std::invalid_argument("channelNorm: bad dims");
  // Fixed row blocks (not thread-dependent) so that dg's summation order is deterministic.
  const int64_t block = std::max<int64_t>(64, (rows + 63) / 64);
  const int64_t blocks = (rows + block - 1) / block;
  std::vector<float> part(static_cast<size_t>(std::max<int64_t>(1, blocks) * C), 0.f);
  pool().run(blocks, [&](int64_t t, int) {
    const int64_t r0 = t * block, r1 = std::min(rows, r0 + block);
    channelNormGradRows(dy, x, g, mean, rstd, dx, part.data() + t * C, r0, r1, C);
  });
  for (int64_t c = 0; c < C; ++c) {
    double s = 0.0;
    for (int64_t t = 0; t < blocks; ++t) s += part[t * C + c];
    dg[c] = static_cast<float>(s);
  }
}

void linearAttentionForward(const float* qkv, float* out, int64_t B, int64_t N, int64_t H, int64_t D) {
  const LinAttn a{B, N, H, D};
  checkAttn(a);
  if (B == 0) return;
  std::vector<float> kmax, kinv;
  std::vector<float> ctx;
  keyContext(a, QkvRows{qkv, N, a.hd()}, kmax, kinv, ctx);
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  pool().parallelFor(B * N, [&](int64_t r0, int64_t r1, int) {
    attendRows(qkv + r0 * a.row(), a.row(), ctx.data(), out, 0, r0, r1, N, H, D, scale);
  }, 4, 256);
}

namespace {

/// linearAttentionProjectedForward, with `o` (or nullptr: the core's output itself) applied to each block of rows.
void projectedAttention(const float* x, const float* w, const AttentionOutput* o, float* out, int64_t B, int64_t N,
                        int64_t C, int64_t H, int64_t D) {
  const LinAttn a{B, N, H, D};
  checkAttn(a);
  if (C < 1) throw std::invalid_argument("linearAttentionProjected: bad channel count");
  if (B == 0) return;
  const int64_t hd = a.hd(), row = a.row();
  // Each block of rows is projected on its own thread into a thread-local buffer: the keys and values (columns
  // [hd, 3 hd) of w) for the context, then the queries (columns [0, hd)). Each element is summed over C in order
  // (gemm.h; the direct tiles likewise), so these are the bits a whole-tensor 1x1 convolution computes (tested).
  thread_local std::vector<float> scratch;
  const auto project = [&](int64_t row0, int64_t count, int64_t col0, int64_t cols) {
    if (scratch.size() < static_cast<size_t>(kRowBlock * 2 * hd)) scratch.resize(static_cast<size_t>(kRowBlock * 2 * hd));
    // With C of 16 to 64, packing x for the GEMM cost about as much as the products: the direct convolution's
    // register tiles read x and w in place (~1 ms of 19 at [40,112,112,16]); both sum over C in order from zero.
    if (currentIsa() != Isa::portable) smallGemm(x + row0 * C, C, C, w + col0, row, cols, scratch.data(), count);
    else sgemm(DenseA(x + row0 * C, C, false), DenseB(w + col0, row, false), count, cols, C, scratch.data(), cols, false,
               false);
    return scratch.data();
  };
  std::vector<float> kmax, kinv;
  std::vector<float> ctx;
  keyContext(a, [&](int64_t b, int64_t n0, int64_t count) {
    const float* kv = project(b * N + n0, count, hd, 2 * hd);
    return KeyValueRows{kv, kv + hd, 2 * hd};
  }, kmax, kinv, ctx);
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  pool().parallelFor(B * N, [&](int64_t r0, int64_t r1, int) {
    thread_local std::vector<float> core, projected;
    if (o != nullptr) {
      if (core.size() < static_cast<size_t>(kRowBlock * hd)) core.resize(static_cast<size_t>(kRowBlock * hd));
      if (projected.size() < static_cast<size_t>(kRowBlock * o->C)) projected.resize(static_cast<size_t>(kRowBlock * o->C));
    }
    for (int64_t s = r0; s < r1; s += kRowBlock) {
      const int64_t count = std::min(kRowBlock, r1 - s);
      if (o == nullptr) {
        attendRows(project(s, count, 0, hd), hd, ctx.data(), out, 0, s, s + count, N, H, D, scale);
        continue;
      }
      // to_out.0 on the direct tiles with the bias as the accumulators' start (conv2dDirect's 1x1 path), then the
      // channel norm's own rows, with the skip: each row as the separate kernels compute it.
      attendRows(project(s, count, 0, hd), hd, ctx.data(), core.data(), s, s, s + count, N, H, D, scale);
      smallGemm(core.data(), hd, hd, o->w, o->C, o->C, projected.data(), count, 1, 0, 0, 0, o->bias);
      float mean[kRowBlock], rstd[kRowBlock];
      channelNormRows(projected.data(), o->g, o->residual != nullptr ? o->residual + s * o->C : nullptr, out + s * o->C,
                      mean, rstd, 0, count, o->C, o->eps);
    }
  }, 4, 256);
}

}  // namespace

void linearAttentionProjectedForward(const float* x, const float* w, float* out, int64_t B, int64_t N, int64_t C,
                                     int64_t H, int64_t D) {
  projectedAttention(x, w, nullptr, out, B, N, C, H, D);
}

void linearAttentionBlockForward(const float* x, const float* w, const AttentionOutput& o, float* out, int64_t B,
                                 int64_t N, int64_t C, int64_t H, int64_t D) {
  if (o.C < 1) throw std::invalid_argument("linearAttentionBlock: bad output channel count");
  const int64_t hd = H * D, rows = B * N;
  ConvGeom proj{};
  proj.batch = rows, proj.inH = 1, proj.inW = 1, proj.inC = hd, proj.outH = 1, proj.outW = 1, proj.outC = o.C;
  proj.fH = proj.fW = proj.strideH = proj.strideW = proj.dilH = proj.dilW = 1;
  // In-block, to_out.0 runs on the direct tiles, as FusedConv2D does where conv2dDirectApplies; elsewhere (portable
  // ISA, wide outputs) the separate steps run here, to_out.0 through FusedConv2D's own routine.
  if (conv2dDirectApplies(proj)) return projectedAttention(x, w, &o, out, B, N, C, H, D);
  std::vector<float> core(static_cast<size_t>(rows * hd)), projected(static_cast<size_t>(rows * o.C));
  projectedAttention(x, w, nullptr, core.data(), B, N, C, H, D);
  Epilogue e;
  e.bias = o.bias;
  e.biasLen = o.bias != nullptr ? o.C : 0;
  fusedConv2d(proj, core.data(), nullptr, o.w, projected.data(), e);
  std::vector<float> mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows));
  channelNormForward(projected.data(), o.g, out, mean.data(), rstd.data(), rows, o.C, o.eps, o.residual);
}

void linearAttentionBackward(const float* dout, const float* qkv, float* dqkv, int64_t B, int64_t N, int64_t H,
                             int64_t D) {
  const LinAttn a{B, N, H, D};
  checkAttn(a);
  if (B == 0) return;
  const int64_t hd = a.hd(), row = a.row();
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  std::vector<float> kmax, kinv;
  std::vector<float> ctx;
  keyContext(a, QkvRows{qkv, N, hd}, kmax, kinv, ctx);
  // dctx[b, h, j, e] = sum_n q[n, h, j] * dout[n, h, e].
  const std::vector<float> dctx = reduceOuter(a, [&](int64_t b, int64_t n0, int64_t n1, float* acc) {
    const float* base = qkv + b * N * row;
    std::vector<float> l(static_cast<size_t>(kRowBlock * hd));
    for (int64_t s = n0; s < n1; s += kRowBlock) {
      const int64_t cnt = std::min(kRowBlock, n1 - s);
      queryRows(base + s * row, row, H, D, cnt, scale, l.data());
      outerAccumulate(H, D, cnt, l.data(), hd, dout + (b * N + s) * hd, hd, acc);
    }
  });
  // Column term of the softmax over N: S[b, h, j] = sum_n dk[n, h, j] k[n, h, j] = sum_e dctx[h, j, e] ctx[h, j, e].
  std::vector<float> colDot(static_cast<size_t>(B * hd));
  for (int64_t i = 0; i < B * hd; ++i) {
    double s = 0.0;
    for (int64_t e = 0; e < D; ++e) s += static_cast<double>(dctx[i * D + e]) * ctx[i * D + e];
    colDot[i] = static_cast<float>(s);
  }
  const std::vector<float> ctxT = transposeHeads(ctx, B * H, D), dctxT = transposeHeads(dctx, B * H, D);
  pool().parallelFor(B * N, [&](int64_t r0, int64_t r1, int) {
    backwardRows(dout, qkv, dqkv, ctxT.data(), dctx.data(), dctxT.data(), colDot.data(), kmax.data(), kinv.data(), r0, r1, N, H,
                 D);
  }, 4, 256);
}

void attentionForward(const float* q, const float* k, const float* v, float* out, int64_t G, int64_t N, int64_t D,
                      float scale) {
  if (G < 0 || N < 1 || D < 1) throw std::invalid_argument("attention: bad dims");
  // Tasks: (group, block of query rows); each stages its group's k^T and v^T (2*N*D floats) in thread-local memory.
  const int64_t want = std::max<int64_t>(1, (8 * pool().size() + G - 1) / std::max<int64_t>(1, G));
  const int64_t block = std::max<int64_t>(16, (N + want - 1) / want);
  const int64_t blocks = (N + block - 1) / block;
  pool().run(G * blocks, [&](int64_t t, int) {
    const int64_t g = t / blocks, n0 = (t % blocks) * block, n1 = std::min(N, n0 + block);
    thread_local std::vector<float> buf;
    if (buf.size() < static_cast<size_t>(2 * N * D + kAttnRows * N)) buf.resize(static_cast<size_t>(2 * N * D + kAttnRows * N));
    float* kT = buf.data();
    float* vT = kT + N * D;
    float* p = vT + N * D;
    const float* kg = k + g * N * D;
    const float* vg = v + g * N * D;
    for (int64_t m = 0; m < N; ++m)
      for (int64_t j = 0; j < D; ++j) {
        kT[j * N + m] = kg[m * D + j];
        vT[j * N + m] = vg[m * D + j];
      }
    attentionRows(q + g * N * D, kT, vT, out + g * N * D, p, n0, n1, N, D, scale);
  });
}

void attentionBackward(const float* q, const float* k, const float* v, const float* dout, float* dq, float* dk,
                       float* dv, int64_t G, int64_t N, int64_t D, float scale) {
  if (G < 0 || N < 1 || D < 1) throw std::invalid_argument("attention: bad dims");
  // One task per group: dk and dv accumulate over all query rows of the group, so groups are the unit of work.
  pool().run(G, [&](int64_t g, int) {
    thread_local std::vector<float> buf;
    const size_t need = static_cast<size_t>(4 * N * D + 2 * N);
    if (buf.size() < need) buf.resize(need);
    float* kT = buf.data();
    float* vT = kT + N * D;
    float* dkT = vT + N * D;
    float* dvT = dkT + N * D;
    float* p = dvT + N * D;
    float* dp = p + N;
    const int64_t off = g * N * D;
    for (int64_t m = 0; m < N; ++m)
      for (int64_t j = 0; j < D; ++j) {
        kT[j * N + m] = k[off + m * D + j];
        vT[j * N + m] = v[off + m * D + j];
      }
    std::fill(dkT, dkT + 2 * N * D, 0.f);
    attentionBackwardGroup(q + off, kT, vT, dout + off, dq + off, dkT, dvT, p, dp, N, D, scale);
    for (int64_t m = 0; m < N; ++m)
      for (int64_t j = 0; j < D; ++j) {
        dk[off + m * D + j] = dkT[j * N + m];
        dv[off + m * D + j] = dvT[j * N + m];
      }
  });
}

}  // namespace diffiqa
