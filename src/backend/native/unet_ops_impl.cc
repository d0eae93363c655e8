// Fused UNet layers (unet_ops.h). Elementwise sweeps are split across the pool in contiguous ranges; reductions use
// per-task partials combined in double in task order, so results do not depend on thread timing.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "fast_math.h"
#include "thread_pool.h"
#include "unet_ops.h"

namespace diffiqa {

namespace {

constexpr int64_t kMinChunk = 16384;

__attribute__((target_clones("avx512f", "avx2", "default"))) void siluRange(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v / (1.f + fastExp(-v));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void siluGradRange(const float* dy, const float* x,
                                                                                  float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float s = 1.f / (1.f + fastExp(-v));
    dx[i] = dy[i] * s * (1.f + v * (1.f - s));
  }
}

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

__attribute__((target_clones("avx512f", "avx2", "default"))) void channelNormRows(const float* x, const float* g,
                                                                                    float* y, float* mean,
                                                                                    float* rstd, int64_t r0,
                                                                                    int64_t r1, int64_t C,
                                                                                    float eps) {
  const float invC = 1.f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    const float mu = laneSum(xr, C) * invC;
    for (int64_t c = 0; c < C; ++c) {
      const float d = xr[c] - mu;
      yr[c] = d * d;  // scratch: squared deviations
    }
    const float var = laneSum(yr, C) * invC;
    const float rs = 1.f / std::sqrt(var + eps);
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mu) * rs * g[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void channelNormGradRows(
    const float* dy, const float* x, const float* g, const float* mean, const float* rstd, float* dx, float* dgAcc,
    int64_t r0, int64_t r1, int64_t C) {
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

/// Tasks over (batch, chunk of N) with enough of them for the pool.
struct Chunks {
  int64_t perBatch, size;
};

Chunks chunksOf(int64_t B, int64_t N) {
  const int64_t want = std::max<int64_t>(1, (4 * pool().size() + B - 1) / std::max<int64_t>(1, B));
  const int64_t per = std::max<int64_t>(1, std::min(N, want));
  return {per, (N + per - 1) / per};
}

struct LinAttn {
  int64_t B, N, H, D;
  int64_t hd() const { return H * D; }
  int64_t row() const { return 3 * H * D; }
};

/// kmax[b, c] and kinv[b, c] = 1 / sum_n exp(k[b, n, c] - kmax) for the HD key channels.
void keyStats(const LinAttn& a, const float* qkv, std::vector<float>& kmax, std::vector<float>& kinv) {
  const int64_t hd = a.hd(), row = a.row();
  const Chunks ch = chunksOf(a.B, a.N);
  const int64_t tasks = a.B * ch.perBatch;
  std::vector<float> pmax(static_cast<size_t>(tasks * hd), -INFINITY);
  pool().run(tasks, [&](int64_t t, int) {
    const int64_t b = t / ch.perBatch, n0 = (t % ch.perBatch) * ch.size, n1 = std::min(a.N, n0 + ch.size);
    float* m = pmax.data() + t * hd;
    for (int64_t n = n0; n < n1; ++n) {
      const float* k = qkv + (b * a.N + n) * row + hd;
      for (int64_t c = 0; c < hd; ++c) m[c] = std::max(m[c], k[c]);
    }
  });
  kmax.assign(static_cast<size_t>(a.B * hd), -INFINITY);
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t c = 0; c < hd; ++c) {
      float& m = kmax[(t / ch.perBatch) * hd + c];
      m = std::max(m, pmax[t * hd + c]);
    }
  std::vector<double> psum(static_cast<size_t>(tasks * hd), 0.0);
  pool().run(tasks, [&](int64_t t, int) {
    const int64_t b = t / ch.perBatch, n0 = (t % ch.perBatch) * ch.size, n1 = std::min(a.N, n0 + ch.size);
    std::vector<float> s(static_cast<size_t>(hd), 0.f);
    const float* m = kmax.data() + b * hd;
    for (int64_t n = n0; n < n1; ++n) {
      const float* k = qkv + (b * a.N + n) * row + hd;
      for (int64_t c = 0; c < hd; ++c) s[c] += fastExp(k[c] - m[c]);
    }
    for (int64_t c = 0; c < hd; ++c) psum[t * hd + c] = s[c];
  });
  std::vector<double> sum(static_cast<size_t>(a.B * hd), 0.0);
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t c = 0; c < hd; ++c) sum[(t / ch.perBatch) * hd + c] += psum[t * hd + c];
  kinv.resize(static_cast<size_t>(a.B * hd));
  for (size_t i = 0; i < sum.size(); ++i) kinv[i] = static_cast<float>(1.0 / sum[i]);
}

/// acc[h, j, e] += sum over n in [n0, n1) of left(n, h, j) * right(n, h, e), both [N, HD] rows of stride `ls`/`rs`
/// (left already transformed by `lf`).
template <typename LeftFn>
void outerAccumulate(const LinAttn& a, int64_t n0, int64_t n1, LeftFn lf, const float* right, int64_t rs,
                     float* acc) {
  const int64_t D = a.D, hd = a.hd();
  std::vector<float> l(static_cast<size_t>(hd));
  for (int64_t n = n0; n < n1; ++n) {
    lf(n, l.data());
    const float* r = right + n * rs;
    for (int64_t h = 0; h < a.H; ++h)
      for (int64_t j = 0; j < D; ++j) {
        const float lv = l[h * D + j];
        float* out = acc + (h * D + j) * D;
        const float* rv = r + h * D;
        for (int64_t e = 0; e < D; ++e) out[e] += lv * rv[e];
      }
  }
}

/// Sum over n of left ⊗ right per (b, h) as [B, H, D, D], from per-task partials added in double in task order.
template <typename TaskFn>
std::vector<float> reduceOuter(const LinAttn& a, TaskFn task) {
  const int64_t dd = a.H * a.D * a.D;
  const Chunks ch = chunksOf(a.B, a.N);
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
inline void headSoftmax(const float* q, int64_t H, int64_t D, float scale, float* p) {
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

/// ctx [B, H, D, D] = sum_n softmax_N(k)[n, h, j] * v[n, h, e] / N.
std::vector<float> context(const LinAttn& a, const float* qkv, const std::vector<float>& kmax,
                           const std::vector<float>& kinv) {
  const int64_t hd = a.hd(), row = a.row();
  const float invN = 1.f / static_cast<float>(a.N);
  return reduceOuter(a, [&](int64_t b, int64_t n0, int64_t n1, float* acc) {
    const float* base = qkv + b * a.N * row;
    const float* m = kmax.data() + b * hd;
    const float* inv = kinv.data() + b * hd;
    outerAccumulate(
        a, n0, n1,
        [&](int64_t n, float* l) {
          const float* k = base + n * row + hd;
          for (int64_t c = 0; c < hd; ++c) l[c] = fastExp(k[c] - m[c]) * inv[c] * invN;
        },
        base + 2 * hd, row, acc);
  });
}

void checkAttn(const LinAttn& a) {
  if (a.B < 0 || a.N < 1 || a.H < 1 || a.D < 1) throw std::invalid_argument("linearAttention: bad dims");
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
                        float eps) {
  if (C < 1 || rows < 0) throw std::invalid_argument("channelNorm: bad dims");
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) { channelNormRows(x, g, y, mean, rstd, r0, r1, C, eps); },
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
  keyStats(a, qkv, kmax, kinv);
  const std::vector<float> ctx = context(a, qkv, kmax, kinv);
  const int64_t hd = a.hd(), row = a.row();
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  pool().parallelFor(B * N, [&](int64_t r0, int64_t r1, int) {
    std::vector<float> p(static_cast<size_t>(hd));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / N;
      headSoftmax(qkv + r * row, H, D, scale, p.data());
      float* o = out + r * hd;
      std::fill(o, o + hd, 0.f);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < D; ++j) {
          const float pv = p[h * D + j];
          const float* c = ctx.data() + ((b * H + h) * D + j) * D;
          float* oh = o + h * D;
          for (int64_t e = 0; e < D; ++e) oh[e] += pv * c[e];
        }
    }
  }, 4, 256);
}

void linearAttentionBackward(const float* dout, const float* qkv, float* dqkv, int64_t B, int64_t N, int64_t H,
                             int64_t D) {
  const LinAttn a{B, N, H, D};
  checkAttn(a);
  if (B == 0) return;
  const int64_t hd = a.hd(), row = a.row();
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  const float invN = 1.f / static_cast<float>(N);
  std::vector<float> kmax, kinv;
  keyStats(a, qkv, kmax, kinv);
  const std::vector<float> ctx = context(a, qkv, kmax, kinv);
  // dctx[b, h, j, e] = sum_n q[n, h, j] * dout[n, h, e].
  const std::vector<float> dctx = reduceOuter(a, [&](int64_t b, int64_t n0, int64_t n1, float* acc) {
    const float* base = qkv + b * N * row;
    outerAccumulate(
        a, n0, n1, [&](int64_t n, float* l) { headSoftmax(base + n * row, H, D, scale, l); }, dout + b * N * hd, hd,
        acc);
  });
  // Column term of the softmax over N: S[b, h, j] = sum_n dk[n, h, j] k[n, h, j] = sum_e dctx[h, j, e] ctx[h, j, e].
  std::vector<float> colDot(static_cast<size_t>(B * hd));
  for (int64_t i = 0; i < B * hd; ++i) {
    double s = 0.0;
    for (int64_t e = 0; e < D; ++e) s += static_cast<double>(dctx[i * D + e]) * ctx[i * D + e];
    colDot[i] = static_cast<float>(s);
  }
  pool().parallelFor(B * N, [&](int64_t r0, int64_t r1, int) {
    std::vector<float> p(static_cast<size_t>(hd)), k(static_cast<size_t>(hd));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / N;
      const float* in = qkv + r * row;
      const float* g = dout + r * hd;
      float* dq = dqkv + r * row;
      float* dk = dq + hd;
      float* dv = dq + 2 * hd;
      headSoftmax(in, H, D, 1.f, p.data());
      for (int64_t c = 0; c < hd; ++c) k[c] = fastExp(in[hd + c] - kmax[b * hd + c]) * kinv[b * hd + c];
      for (int64_t h = 0; h < H; ++h) {
        const float* ctxH = ctx.data() + (b * H + h) * D * D;
        const float* dctxH = dctx.data() + (b * H + h) * D * D;
        const float* gh = g + h * D;
        const float* vh = in + 2 * hd + h * D;
        // dq (through the scale) and its softmax-over-D backward.
        float dot = 0.f;
        for (int64_t j = 0; j < D; ++j) {
          float s = 0.f;
          for (int64_t e = 0; e < D; ++e) s += gh[e] * ctxH[j * D + e];
          dq[h * D + j] = s * scale;
          dot += dq[h * D + j] * p[h * D + j];
        }
        for (int64_t j = 0; j < D; ++j) dq[h * D + j] = p[h * D + j] * (dq[h * D + j] - dot);
        // dk = (v / N) dctx^T, then the softmax-over-N backward with the column term.
        for (int64_t j = 0; j < D; ++j) {
          float s = 0.f;
          for (int64_t e = 0; e < D; ++e) s += vh[e] * dctxH[j * D + e];
          const int64_t c = h * D + j;
          dk[c] = k[c] * (s * invN - colDot[b * hd + c]);
        }
        // dv = k dctx / N.
        for (int64_t e = 0; e < D; ++e) dv[h * D + e] = 0.f;
        for (int64_t j = 0; j < D; ++j) {
          const float kv = k[h * D + j] * invN;
          for (int64_t e = 0; e < D; ++e) dv[h * D + e] += kv * dctxH[j * D + e];
        }
      }
    }
  }, 4, 256);
}

}  // namespace diffiqa
