// Depthwise convolution (w [fH, fW, inC, mult]) computed directly: channels are contiguous in NHWC, so the inner
// loops run over channels and vectorise; rows of output (or input, for the gather-style input gradient) are
// independent tasks, and the filter gradient sums per-thread partial filters.
#include <algorithm>
#include <vector>

#include "conv.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// acc[c*mult+q] += x[c] * w[c*mult+q] for c < inC.
__attribute__((target_clones("avx512f", "avx2", "default"))) void macTap(float* acc, const float* x,
                                                                          const float* w, int64_t inC,
                                                                          int64_t mult) {
  if (mult == 1) {
    for (int64_t c = 0; c < inC; ++c) acc[c] += x[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < inC; ++c)
    for (int64_t q = 0; q < mult; ++q) acc[c * mult + q] += x[c] * w[c * mult + q];
}

/// acc[c] += sum_q dy[c*mult+q] * w[c*mult+q].
__attribute__((target_clones("avx512f", "avx2", "default"))) void macTapBack(float* acc, const float* dy,
                                                                              const float* w, int64_t inC,
                                                                              int64_t mult) {
  if (mult == 1) {
    for (int64_t c = 0; c < inC; ++c) acc[c] += dy[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < inC; ++c) {
    float s = 0.f;
    for (int64_t q = 0; q < mult; ++q) s += dy[c * mult + q] * w[c * mult + q];
    acc[c] += s;
  }
}

/// One output row of a multiplier-1 depthwise convolution: for each pixel and block of channels, the taps are
/// accumulated in a local block (kept in vector registers) and stored once.
__attribute__((target_clones("avx512f", "avx2", "default"))) void depthwiseRowM1(
    const ConvGeom& g, const float* x, const float* w, float* row, int64_t b, int64_t oy) {
  constexpr int64_t CB = 64;
  const int64_t C = g.inC;
  for (int64_t ox = 0; ox < g.outW; ++ox) {
    float* out = row + ox * C;
    for (int64_t c0 = 0; c0 < C; c0 += CB) {
      const int64_t cn = std::min(CB, C - c0);
      float acc[CB] = {};
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        const float* xRow = x + (b * g.inH + iy) * g.inW * C + c0;
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          const int64_t ix = ox * g.strideW - g.padLeft + kw * g.dilW;
          if (ix < 0 || ix >= g.inW) continue;
          const float* xp = xRow + ix * C;
          const float* wp = w + (kh * g.fW + kw) * C + c0;
          if (cn == CB) {
            for (int64_t c = 0; c < CB; ++c) acc[c] += xp[c] * wp[c];
          } else {
            for (int64_t c = 0; c < cn; ++c) acc[c] += xp[c] * wp[c];
          }
        }
      }
      for (int64_t c = 0; c < cn; ++c) out[c0 + c] = acc[c];
    }
  }
}

inline int64_t sourceIndex(int64_t i, int64_t t, int64_t stride, int64_t pad, int64_t dil, int64_t outLen) {
  const int64_t v = i + pad - t * dil;
  if (v < 0 || v % stride != 0) return -1;
  const int64_t o = v / stride;
  return o < outLen ? o : -1;
}

/// One input-gradient row of a multiplier-1 depthwise convolution (gather form, taps accumulated in registers).
__attribute__((target_clones("avx512f", "avx2", "default"))) void depthwiseBackRowM1(
    const ConvGeom& g, const float* dy, const float* w, float* row, int64_t b, int64_t iy) {
  constexpr int64_t CB = 64;
  const int64_t C = g.inC;
  for (int64_t ix = 0; ix < g.inW; ++ix) {
    float* out = row + ix * C;
    for (int64_t c0 = 0; c0 < C; c0 += CB) {
      const int64_t cn = std::min(CB, C - c0);
      float acc[CB] = {};
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t oy = sourceIndex(iy, kh, g.strideH, g.padTop, g.dilH, g.outH);
        if (oy < 0) continue;
        const float* dyRow = dy + (b * g.outH + oy) * g.outW * C + c0;
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          const int64_t ox = sourceIndex(ix, kw, g.strideW, g.padLeft, g.dilW, g.outW);
          if (ox < 0) continue;
          const float* dp = dyRow + ox * C;
          const float* wp = w + (kh * g.fW + kw) * C + c0;
          if (cn == CB) {
            for (int64_t c = 0; c < CB; ++c) acc[c] += dp[c] * wp[c];
          } else {
            for (int64_t c = 0; c < cn; ++c) acc[c] += dp[c] * wp[c];
          }
        }
      }
      for (int64_t c = 0; c < cn; ++c) out[c0 + c] = acc[c];
    }
  }
}

}  // namespace

void depthwiseForward(const ConvGeom& g, const float* x, const float* w, float* out) {
  const int64_t mult = g.outC / g.inC;
  if (mult == 1) {
    pool().parallelFor(g.batch * g.outH, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) depthwiseRowM1(g, x, w, out + r * g.outW * g.outC, r / g.outH, r % g.outH);
    });
    return;
  }
  pool().parallelFor(g.batch * g.outH, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oy = r % g.outH;
      float* row = out + r * g.outW * g.outC;
      std::fill(row, row + g.outW * g.outC, 0.f);
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        const float* xRow = x + (b * g.inH + iy) * g.inW * g.inC;
        for (int64_t ox = 0; ox < g.outW; ++ox) {
          float* acc = row + ox * g.outC;
          for (int64_t kw = 0; kw < g.fW; ++kw) {
            const int64_t ix = ox * g.strideW - g.padLeft + kw * g.dilW;
            if (ix < 0 || ix >= g.inW) continue;
            macTap(acc, xRow + ix * g.inC, w + (kh * g.fW + kw) * g.outC, g.inC, mult);
          }
        }
      }
    }
  });
}

void depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t mult = g.outC / g.inC;
  if (mult == 1) {
    pool().parallelFor(g.batch * g.inH, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) depthwiseBackRowM1(g, dy, w, dx + r * g.inW * g.inC, r / g.inH, r % g.inH);
    });
    return;
  }
  pool().parallelFor(g.batch * g.inH, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.inH, iy = r % g.inH;
      float* row = dx + r * g.inW * g.inC;
      std::fill(row, row + g.inW * g.inC, 0.f);
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t oy = sourceIndex(iy, kh, g.strideH, g.padTop, g.dilH, g.outH);
        if (oy < 0) continue;
        const float* dyRow = dy + (b * g.outH + oy) * g.outW * g.outC;
        for (int64_t ix = 0; ix < g.inW; ++ix) {
          float* acc = row + ix * g.inC;
          for (int64_t kw = 0; kw < g.fW; ++kw) {
            const int64_t ox = sourceIndex(ix, kw, g.strideW, g.padLeft, g.dilW, g.outW);
            if (ox < 0) continue;
            macTapBack(acc, dyRow + ox * g.outC, w + (kh * g.fW + kw) * g.outC, g.inC, mult);
          }
        }
      }
    }
  });
}

void depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t mult = g.outC / g.inC;
  const int64_t size = g.fH * g.fW * g.outC;
  ThreadPool& tp = pool();
  std::vector<std::vector<float>> partial(tp.size());
  tp.parallelFor(g.batch * g.outH, [&](int64_t r0, int64_t r1, int thread) {
    std::vector<float>& acc = partial[thread];
    if (acc.empty()) acc.assign(size, 0.f);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oy = r % g.outH;
      const float* dyRow = dy + r * g.outW * g.outC;
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        const float* xRow = x + (b * g.inH + iy) * g.inW * g.inC;
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          float* tap = acc.data() + (kh * g.fW + kw) * g.outC;
          for (int64_t ox = 0; ox < g.outW; ++ox) {
            const int64_t ix = ox * g.strideW - g.padLeft + kw * g.dilW;
            if (ix < 0 || ix >= g.inW) continue;
            // dw[tap][c*mult+q] += x[c] * dy[c*mult+q]: the same shape of update as the forward's macTap.
            macTap(tap, xRow + ix * g.inC, dyRow + ox * g.outC, g.inC, mult);
          }
        }
      }
    }
  }, 8);
  std::fill(dw, dw + size, 0.f);
  for (const auto& p : partial)
    if (!p.empty())
      for (int64_t i = 0; i < size; ++i) dw[i] += p[i];
}

}  // namespace diffiqa
