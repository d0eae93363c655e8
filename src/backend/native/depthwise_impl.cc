// Depthwise convolution (w [fH, fW, inC, mult]) computed directly: channels are contiguous in NHWC, so the inner
// loops run over channels and vectorise; rows of output (or input, for the gather-style input gradient) are
// independent tasks, and the filter gradient sums partial filters of fixed row ranges in order (orderedReduce). The generic (multiversioned, isa.h) code
// serves every multiplier; multiplier 1 on AVX-512 takes the register-tiled kernels further down.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "conv.h"
#include "epilogue.h"
#include "gemm.h"
#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// acc[c*mult+q] += x[c] * w[c*mult+q] for c < inC.
DIFFIQA_KERNEL_BODY void macTapBody(float* acc, const float* x, const float* w, int64_t inC, int64_t mult) {
  if (mult == 1) {
    for (int64_t c = 0; c < inC; ++c) acc[c] += x[c] * w[c];
    return;
  }
  for (int64_t c = 0; c < inC; ++c)
    for (int64_t q = 0; q < mult; ++q) acc[c * mult + q] += x[c] * w[c * mult + q];
}
DIFFIQA_MULTIVERSION(macTap, (float* acc, const float* x, const float* w, int64_t inC, int64_t mult), (acc, x, w, inC, mult))

/// acc[c] += sum_q dy[c*mult+q] * w[c*mult+q].
DIFFIQA_KERNEL_BODY void macTapBackBody(float* acc, const float* dy, const float* w, int64_t inC, int64_t mult) {
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
DIFFIQA_MULTIVERSION(macTapBack, (float* acc, const float* dy, const float* w, int64_t inC, int64_t mult), (acc, dy, w, inC, mult))

/// One output row of a multiplier-1 depthwise convolution: for each pixel and block of channels, the taps are
/// accumulated in a local block (kept in vector registers) and stored once.
DIFFIQA_KERNEL_BODY void depthwiseRowM1Body(const ConvGeom& g, const float* x, const float* w, float* row, int64_t b, int64_t oy) {
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
DIFFIQA_MULTIVERSION(depthwiseRowM1, (const ConvGeom& g, const float* x, const float* w, float* row, int64_t b, int64_t oy), (g, x, w, row, b, oy))

inline int64_t sourceIndex(int64_t i, int64_t t, int64_t stride, int64_t pad, int64_t dil, int64_t outLen) {
  const int64_t v = i + pad - t * dil;
  if (v < 0 || v % stride != 0) return -1;
  const int64_t o = v / stride;
  return o < outLen ? o : -1;
}

/// One input-gradient row of a multiplier-1 depthwise convolution (gather form, taps accumulated in registers).
DIFFIQA_KERNEL_BODY void depthwiseBackRowM1Body(const ConvGeom& g, const float* dy, const float* w, float* row, int64_t b, int64_t iy) {
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
DIFFIQA_MULTIVERSION(depthwiseBackRowM1, (const ConvGeom& g, const float* dy, const float* w, float* row, int64_t b, int64_t iy), (g, dy, w, row, b, iy))

void depthwiseForwardGeneric(const ConvGeom& g, const float* x, const float* w, float* out) {
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

void depthwiseBackpropInputGeneric(const ConvGeom& g, const float* dy, const float* w, float* dx) {
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

void depthwiseBackpropFilterGeneric(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t mult = g.outC / g.inC;
  const int64_t size = g.fH * g.fW * g.outC;
  const int64_t rows = g.batch * g.outH;
  orderedReduce(rows, reduceRanges(rows, size), size, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oy = r % g.outH;
      const float* dyRow = dy + r * g.outW * g.outC;
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        const float* xRow = x + (b * g.inH + iy) * g.inW * g.inC;
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          float* tap = acc + (kh * g.fW + kw) * g.outC;
          for (int64_t ox = 0; ox < g.outW; ++ox) {
            const int64_t ix = ox * g.strideW - g.padLeft + kw * g.dilW;
            if (ix < 0 || ix >= g.inW) continue;
            // dw[tap][c*mult+q] += x[c] * dy[c*mult+q]: the same shape of update as the forward's macTap.
            macTap(tap, xRow + ix * g.inC, dyRow + ox * g.outC, g.inC, mult);
          }
        }
      }
    }
  }, dw);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 kernels for channel multiplier 1 (every depthwise convolution of mobileface): channels are the vector
// lanes (chunks of up to 4 x 16 channels, the last vector masked), so no horizontal work is needed anywhere.
//  * forward: a tile of R consecutive output pixels x NV channel vectors stays in registers while the taps are
//    walked; each tap's filter vectors are loaded once per tile. Interior pixels (every kw tap inside the row) take
//    wide tiles; the few border pixels take 1-pixel tiles with their valid kw range. Bias and PReLU/ReLU are
//    applied in registers before the single store, so a fused conv+activation costs no extra pass.
//  * input gradient: gather form per input pixel with per-column tap lists built once per call (no divisions in
//    the loops), which covers every stride; rows are independent tasks.
//  * filter gradient: per (output row, kh, kw) a contiguous output-column range whose products are summed in
//    registers, added into the partial filter of its row range; the ranges are summed in order at the end.
// Products are the same float32 products as the generic code; only the summation order differs.
namespace {

struct DwEpi {
  const float* bias = nullptr;   // [C] or null
  const float* alpha = nullptr;  // [C] PReLU weights or null
  bool relu = false;
};

struct DwTile {
  const float* const* x;  // per valid kh: input at the tile's first pixel, first valid kw tap, chunk channel 0
  const float* const* w;  // per valid kh: filter at the first valid kw tap, chunk channel 0
  int nkh;
  int nkw;
  int64_t pixStride;  // floats between consecutive output pixels' inputs (strideW * C)
  int64_t tapStride;  // floats between consecutive kw taps of the input (dilW * C)
  int64_t wTapStride; // floats between consecutive kw taps of the filter (C)
  __mmask16 lastMask;
  const float* bias;   // at chunk channel 0, or null
  const float* alpha;  // at chunk channel 0, or null
  bool relu;
  float* out;  // output at the tile's first pixel, chunk channel 0
  int64_t ldo; // floats between consecutive output pixels (C)
};

template <int R, int NV>
__attribute__((target("avx512f"))) void dwForwardTile(const DwTile& t) {
  __m512 acc[R][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v == NV - 1 ? t.lastMask : static_cast<__mmask16>(0xFFFF);
    const __m512 init = t.bias != nullptr ? _mm512_maskz_loadu_ps(m, t.bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r][v] = init;
  }
  for (int i = 0; i < t.nkh; ++i) {
    const float* xp = t.x[i];
    const float* wp = t.w[i];
    for (int kw = 0; kw < t.nkw; ++kw, xp += t.tapStride, wp += t.wTapStride) {
      __m512 wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        wv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(t.lastMask, wp + 16 * v) : _mm512_loadu_ps(wp + 16 * v);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float* xr = xp + r * t.pixStride;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const __m512 a = v == NV - 1 ? _mm512_maskz_loadu_ps(t.lastMask, xr + 16 * v) : _mm512_loadu_ps(xr + 16 * v);
          acc[r][v] = _mm512_fmadd_ps(a, wv[v], acc[r][v]);
        }
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v == NV - 1 ? t.lastMask : static_cast<__mmask16>(0xFFFF);
    const __m512 al = t.alpha != nullptr ? _mm512_maskz_loadu_ps(m, t.alpha + 16 * v) : zero;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      __m512 a = acc[r][v];
      if (t.alpha != nullptr) {
        a = _mm512_mask_mul_ps(a, _mm512_cmp_ps_mask(a, zero, _CMP_LT_OQ), a, al);
      } else if (t.relu) {
        a = _mm512_mask_mov_ps(a, _mm512_cmp_ps_mask(a, zero, _CMP_LT_OQ), zero);
      }
      _mm512_mask_storeu_ps(t.out + r * t.ldo + 16 * v, m, a);
    }
  }
}

using DwTileFn = void (*)(const DwTile&);

/// Pixels per forward tile by vector count: at most 24 accumulators plus the filter vectors and a load.
constexpr int kDwMr[5] = {0, 16, 12, 8, 6};

template <int NV, int... R>
constexpr std::array<DwTileFn, sizeof...(R)> dwTileTable(std::integer_sequence<int, R...>) {
  return {&dwForwardTile<R + 1, NV>...};
}

const DwTileFn* dwTilesFor(int nv) {
  static const auto t1 = dwTileTable<1>(std::make_integer_sequence<int, kDwMr[1]>{});
  static const auto t2 = dwTileTable<2>(std::make_integer_sequence<int, kDwMr[2]>{});
  static const auto t3 = dwTileTable<3>(std::make_integer_sequence<int, kDwMr[3]>{});
  static const auto t4 = dwTileTable<4>(std::make_integer_sequence<int, kDwMr[4]>{});
  switch (nv) {
    case 1: return t1.data();
    case 2: return t2.data();
    case 3: return t3.data();
    default: return t4.data();
  }
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// Output columns [lo, hi) whose input column o*stride - pad + k*dil lies inside [0, inLen) for a fixed tap k.
inline void validRange(int64_t inLen, int64_t outLen, int64_t stride, int64_t pad, int64_t off, int64_t& lo,
                       int64_t& hi) {
  // 0 <= o*stride - pad + off <= inLen - 1
  lo = std::max<int64_t>(0, ceilDiv(pad - off, stride));
  hi = std::min<int64_t>(outLen, floorDiv(inLen - 1 + pad - off, stride) + 1);
  if (hi < lo) hi = lo;
}

bool dwAvx512(const ConvGeom& g) { return g.outC == g.inC && activeIsa() == "avx512" && g.inC > 0; }

void depthwiseForwardAvx512(const ConvGeom& g, const float* x, const float* w, const DwEpi& e, float* out) {
  const int64_t C = g.inC;
  // Interior output columns: every kw tap inside the input row.
  int64_t oxLo, oxHi, lo2, hi2;
  validRange(g.inW, g.outW, g.strideW, g.padLeft, 0, oxLo, oxHi);
  validRange(g.inW, g.outW, g.strideW, g.padLeft, (g.fW - 1) * g.dilW, lo2, hi2);
  oxLo = std::max(oxLo, lo2);
  oxHi = std::max(oxLo, std::min(oxHi, hi2));
  pool().parallelFor(g.batch * g.outH, [&](int64_t r0, int64_t r1, int) {
    std::vector<const float*> xr(static_cast<size_t>(g.fH)), wr(static_cast<size_t>(g.fH));
    std::vector<const float*> rowBase(static_cast<size_t>(g.fH)), wBase(static_cast<size_t>(g.fH));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oy = r % g.outH;
      int nkh = 0;
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        rowBase[nkh] = x + (b * g.inH + iy) * g.inW * C;
        wBase[nkh] = w + kh * g.fW * C;
        ++nkh;
      }
      float* rowOut = out + r * g.outW * C;
      for (int64_t c0 = 0; c0 < C; c0 += 64) {
        const int64_t cols = std::min<int64_t>(64, C - c0);
        const int nv = static_cast<int>((cols + 15) / 16);
        const DwTileFn* fns = dwTilesFor(nv);
        const int mr = kDwMr[nv];
        DwTile t{};
        t.x = xr.data();
        t.w = wr.data();
        t.nkh = nkh;
        t.pixStride = g.strideW * C;
        t.tapStride = g.dilW * C;
        t.wTapStride = C;
        t.lastMask = static_cast<__mmask16>((1u << (cols - 16 * (nv - 1))) - 1u);
        t.bias = e.bias != nullptr ? e.bias + c0 : nullptr;
        t.alpha = e.alpha != nullptr ? e.alpha + c0 : nullptr;
        t.relu = e.relu;
        t.ldo = C;
        int64_t ox = 0;
        while (ox < g.outW) {
          int64_t kwLo = 0, kwHi = g.fW, n = 1;
          if (ox >= oxLo && ox < oxHi) {
            n = std::min<int64_t>(mr, oxHi - ox);
          } else {
            // A border pixel: only the kw taps inside the row.
            const int64_t ix0 = ox * g.strideW - g.padLeft;
            while (kwLo < g.fW && ix0 + kwLo * g.dilW < 0) ++kwLo;
            while (kwHi > kwLo && ix0 + (kwHi - 1) * g.dilW >= g.inW) --kwHi;
          }
          const int64_t ixFirst = ox * g.strideW - g.padLeft + kwLo * g.dilW;
          for (int i = 0; i < nkh; ++i) {
            xr[i] = rowBase[i] + ixFirst * C + c0;
            wr[i] = wBase[i] + kwLo * C + c0;
          }
          t.nkw = static_cast<int>(kwHi - kwLo);
          t.out = rowOut + ox * C + c0;
          fns[n - 1](t);
          ox += n;
        }
      }
    }
  });
}

/// acc (NV vectors) += a[i] * b[i] over the (aOff, bOff) pairs; then stored (masked) to out.
template <int NV>
__attribute__((target("avx512f"))) void dwGatherPixel(const float* a, const float* b, const int64_t* aOff,
                                                      const int64_t* bOff, int n, __mmask16 lastMask, float* out) {
  __m512 acc[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) acc[v] = _mm512_setzero_ps();
  for (int i = 0; i < n; ++i) {
    const float* ap = a + aOff[i];
    const float* bp = b + bOff[i];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
      acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ap + 16 * v), _mm512_maskz_loadu_ps(m, bp + 16 * v), acc[v]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v)
    _mm512_mask_storeu_ps(out + 16 * v, v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF), acc[v]);
}

using DwGatherFn = void (*)(const float*, const float*, const int64_t*, const int64_t*, int, __mmask16, float*);

void depthwiseBackpropInputAvx512(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t C = g.inC;
  if (g.strideH == 1 && g.strideW == 1) {
    // dx[iy, ix] = sum dy[iy + padTop - kh*dil, ...] * w[kh, kw]: with kh' = fH-1-kh a forward depthwise
    // convolution of dy (padding (fH-1)*dil - pad, possibly negative) with the flipped filter, so the register-tiled
    // forward kernel serves it.
    std::vector<float> wf(static_cast<size_t>(g.fH * g.fW * C));
    for (int64_t kh = 0; kh < g.fH; ++kh)
      for (int64_t kw = 0; kw < g.fW; ++kw)
        std::copy(w + (kh * g.fW + kw) * C, w + (kh * g.fW + kw + 1) * C,
                  wf.begin() + ((g.fH - 1 - kh) * g.fW + (g.fW - 1 - kw)) * C);
    const ConvGeom t{g.batch, g.outH, g.outW, C, g.inH, g.inW, C, g.fH, g.fW, 1, 1, g.dilH, g.dilW,
                     (g.fH - 1) * g.dilH - g.padTop, (g.fW - 1) * g.dilW - g.padLeft};
    depthwiseForwardAvx512(t, dy, wf.data(), DwEpi{}, dx);
    return;
  }
  // Per input column: the (kw, ox) pairs that reach it, as float offsets into a dy row and a filter row.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> colTaps(static_cast<size_t>(g.inW));
  for (int64_t ix = 0; ix < g.inW; ++ix)
    for (int64_t kw = 0; kw < g.fW; ++kw) {
      const int64_t v = ix + g.padLeft - kw * g.dilW;
      if (v < 0 || v % g.strideW != 0 || v / g.strideW >= g.outW) continue;
      colTaps[ix].push_back({(v / g.strideW) * C, kw * C});
    }
  static const DwGatherFn fns[5] = {nullptr, &dwGatherPixel<1>, &dwGatherPixel<2>, &dwGatherPixel<3>,
                                    &dwGatherPixel<4>};
  pool().parallelFor(g.batch * g.inH, [&](int64_t r0, int64_t r1, int) {
    std::vector<int64_t> aOff, bOff;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.inH, iy = r % g.inH;
      // (dy row, filter row) offsets for the kh taps that reach this input row.
      std::vector<std::pair<int64_t, int64_t>> rows;
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t v = iy + g.padTop - kh * g.dilH;
        if (v < 0 || v % g.strideH != 0 || v / g.strideH >= g.outH) continue;
        rows.push_back({(b * g.outH + v / g.strideH) * g.outW * C, kh * g.fW * C});
      }
      float* rowOut = dx + r * g.inW * C;
      for (int64_t ix = 0; ix < g.inW; ++ix) {
        aOff.clear();
        bOff.clear();
        for (const auto& [dyRow, wRow] : rows)
          for (const auto& [dyCol, wCol] : colTaps[ix]) {
            aOff.push_back(dyRow + dyCol);
            bOff.push_back(wRow + wCol);
          }
        for (int64_t c0 = 0; c0 < C; c0 += 64) {
          const int64_t cols = std::min<int64_t>(64, C - c0);
          const int nv = static_cast<int>((cols + 15) / 16);
          const __mmask16 lastMask = static_cast<__mmask16>((1u << (cols - 16 * (nv - 1))) - 1u);
          fns[nv](dy + c0, w + c0, aOff.data(), bOff.data(), static_cast<int>(aOff.size()), lastMask,
                  rowOut + ix * C + c0);
        }
      }
    }
  });
}

/// acc (NV vectors, two chains) = sum over p < n of x[p * xs] * dy[p * ds]; added (masked) into out.
template <int NV>
__attribute__((target("avx512f"))) void dwDotAdd(const float* x, int64_t xs, const float* dy, int64_t ds, int64_t n,
                                                 __mmask16 lastMask, float* out) {
  __m512 a0[NV], a1[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) a0[v] = a1[v] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 1 < n; p += 2) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
      a0[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p * xs + 16 * v), _mm512_maskz_loadu_ps(m, dy + p * ds + 16 * v), a0[v]);
      a1[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + (p + 1) * xs + 16 * v),
                              _mm512_maskz_loadu_ps(m, dy + (p + 1) * ds + 16 * v), a1[v]);
    }
  }
  if (p < n) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
      a0[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + p * xs + 16 * v), _mm512_maskz_loadu_ps(m, dy + p * ds + 16 * v), a0[v]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
    float* o = out + 16 * v;
    _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), _mm512_add_ps(a0[v], a1[v])));
  }
}

using DwDotFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, __mmask16, float*);

void depthwiseBackpropFilterAvx512(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t C = g.inC, size = g.fH * g.fW * C;
  std::vector<int64_t> lo(static_cast<size_t>(g.fW)), hi(static_cast<size_t>(g.fW));
  for (int64_t kw = 0; kw < g.fW; ++kw) validRange(g.inW, g.outW, g.strideW, g.padLeft, kw * g.dilW, lo[kw], hi[kw]);
  static const DwDotFn fns[5] = {nullptr, &dwDotAdd<1>, &dwDotAdd<2>, &dwDotAdd<3>, &dwDotAdd<4>};
  const int64_t rows = g.batch * g.outH;
  orderedReduce(rows, reduceRanges(rows, size), size, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.outH, oy = r % g.outH;
      const float* dyRow = dy + r * g.outW * C;
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
        if (iy < 0 || iy >= g.inH) continue;
        const float* xRow = x + (b * g.inH + iy) * g.inW * C;
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          if (hi[kw] <= lo[kw]) continue;
          const int64_t ix0 = lo[kw] * g.strideW - g.padLeft + kw * g.dilW;
          float* tap = acc + (kh * g.fW + kw) * C;
          for (int64_t c0 = 0; c0 < C; c0 += 64) {
            const int64_t cols = std::min<int64_t>(64, C - c0);
            const int nv = static_cast<int>((cols + 15) / 16);
            const __mmask16 lastMask = static_cast<__mmask16>((1u << (cols - 16 * (nv - 1))) - 1u);
            fns[nv](xRow + ix0 * C + c0, g.strideW * C, dyRow + lo[kw] * C + c0, C, hi[kw] - lo[kw], lastMask,
                    tap + c0);
          }
        }
      }
    }
  }, dw);
}

}  // namespace

void depthwiseForward(const ConvGeom& g, const float* x, const float* w, float* out, const Epilogue* e) {
  const bool identity = e == nullptr || e->isIdentity();
  if (dwAvx512(g)) {
    // Bias, PReLU and ReLU with channel vectors are applied in registers; anything else after the fact.
    DwEpi de;
    std::vector<float> biasV, alphaV;
    bool inKernel = identity;
    if (!identity) {
      const int64_t C = g.outC;
      const bool actOk = e->act == Activation::Linear || e->act == Activation::Relu || e->act == Activation::Prelu;
      if (actOk) {
        inKernel = true;
        if (e->bias != nullptr) {
          biasV.assign(static_cast<size_t>(C), e->bias[0]);
          if (e->biasLen != 1) std::copy(e->bias, e->bias + C, biasV.begin());
          de.bias = biasV.data();
        }
        if (e->act == Activation::Prelu) {
          alphaV.assign(static_cast<size_t>(C), e->alpha[0]);
          if (e->alphaLen != 1) std::copy(e->alpha, e->alpha + C, alphaV.begin());
          de.alpha = alphaV.data();
        }
        de.relu = e->act == Activation::Relu;
      }
    }
    depthwiseForwardAvx512(g, x, w, inKernel ? de : DwEpi{}, out);
    if (!inKernel) applyEpilogue(*e, out, g.rows(), g.outC);
    return;
  }
  depthwiseForwardGeneric(g, x, w, out);
  if (!identity) applyEpilogue(*e, out, g.rows(), g.outC);
}

void depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (dwAvx512(g)) depthwiseBackpropInputAvx512(g, dy, w, dx);
  else depthwiseBackpropInputGeneric(g, dy, w, dx);
}

void depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (dwAvx512(g)) depthwiseBackpropFilterAvx512(g, x, dy, dw);
  else depthwiseBackpropFilterGeneric(g, x, dy, dw);
}

}  // namespace diffiqa
