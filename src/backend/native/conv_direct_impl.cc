// Direct NHWC convolution for small and medium channel counts, and its filter gradient (AVX-512 and AVX2 tiles). The im2col GEMM path pays for
// small channel counts twice: every im2col row is assembled from fH*fW short copies of inC floats, and an outC of 16
// fills half of the 32-column micro-kernel. Here a task takes a band of output rows of one image, copies the input
// rows it needs once into a zero-padded thread-local buffer (so there are no borders), and runs a register-blocked
// micro-kernel over MR consecutive output pixels x (16 * NV) output channels that walks the taps itself: output
// pixel r of a tile reads its tap at a fixed offset from pixel r * strideW * inC of the band, so the filter is read
// in place ([fH*fW*inC, outC] row-major, channel tails masked) and nothing is packed. The bias is the accumulators'
// initial value and a PReLU (per output channel) is applied in registers before the store. Same float32 products as
// the GEMM; only the summation order differs. Full-width tiles whose pixel stride is a common channel count are
// compiled with that stride as a constant: with a run-time stride the compiler keeps one pointer per tile row and
// spills them through vector registers inside the inner loop, which cost 16- and 32-channel convolutions ~40%
// (single-thread testbed: 4x112x112x16->16 at 71 -> 122 GFLOP/s per core).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "conv.h"
#include "data_movement.h"
#include "gemm.h"
#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

struct Tile {
  const float* x;         // the band buffer at the tile's first output pixel
  int64_t pixStride;      // floats between consecutive output pixels' inputs (strideW * inC)
  const int64_t* tapOff;  // floats from a pixel's input origin to each tap
  int taps;
  int inC;
  const float* w;  // filter at column j0: row k at w + k * ldw
  int64_t ldw;
  const float* bias;   // at column j0, or null
  const float* alpha;  // PReLU weights at column j0, or null
  int lastCols;        // valid lanes of the last vector (1 .. the ISA's lane count)
  float* out;          // output at the tile's first pixel, column j0
  int64_t ldo;
};

template <int MR, int NV, int PS = 0>
__attribute__((target("avx512f"))) void directTile(const Tile& t) {
  const __mmask16 lastMask = static_cast<__mmask16>((1u << t.lastCols) - 1u);
  __m512 acc[MR][NV];
  __m512 init[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
    init[v] = t.bias != nullptr ? _mm512_maskz_loadu_ps(m, t.bias + 16 * v) : _mm512_setzero_ps();
  }
#pragma GCC unroll 28
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = init[v];
  const int64_t ps = PS > 0 ? PS : t.pixStride;
  const int64_t ldw = t.ldw;
  const float* wr = t.w;
  for (int tap = 0; tap < t.taps; ++tap) {
    const float* xa = t.x + t.tapOff[tap];
    for (int ci = 0; ci < t.inC; ++ci, wr += ldw) {
      __m512 b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        if (v == NV - 1) b[v] = _mm512_maskz_loadu_ps(lastMask, wr + 16 * v);
        else b[v] = _mm512_loadu_ps(wr + 16 * v);
      }
#pragma GCC unroll 28
      for (int r = 0; r < MR; ++r) {
        const __m512 a = _mm512_set1_ps(xa[ci + r * ps]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
      }
    }
  }
  if (t.alpha != nullptr) {
    // PReLU in registers: v < 0 ? alpha * v : v (the same select-and-multiply as the Prelu kernel).
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
      const __m512 al = _mm512_maskz_loadu_ps(m, t.alpha + 16 * v);
#pragma GCC unroll 28
      for (int r = 0; r < MR; ++r)
        acc[r][v] = _mm512_mask_mul_ps(acc[r][v], _mm512_cmp_ps_mask(acc[r][v], zero, _CMP_LT_OQ), acc[r][v], al);
    }
  }
#pragma GCC unroll 28
  for (int r = 0; r < MR; ++r) {
    float* o = t.out + r * t.ldo;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1) _mm512_mask_storeu_ps(o + 16 * v, lastMask, acc[r][v]);
      else _mm512_storeu_ps(o + 16 * v, acc[r][v]);
    }
  }
}

/// The AVX2 tile: MR pixels x (8 * NV) output channels in the 16 ymm registers (NV <= 2), masked loads and stores
/// for a partial last vector; otherwise as directTile. Written out rather than shared with directTile through a
/// vector-traits template: GCC (12) refuses to inline an ISA's intrinsics through a template body that has no target
/// of its own ("target specific option mismatch"), and the two ISAs' masks and PReLU select differ anyway.
template <int MR, int NV, int PS = 0>
__attribute__((target("avx2,fma"))) void directTileAvx2(const Tile& t) {
  const __m256i lastMask = _mm256_cmpgt_epi32(_mm256_set1_epi32(t.lastCols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i all = _mm256_set1_epi32(-1);
  __m256 acc[MR][NV];
  __m256 init[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v)
    init[v] = t.bias != nullptr ? _mm256_maskload_ps(t.bias + 8 * v, v == NV - 1 ? lastMask : all) : _mm256_setzero_ps();
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = init[v];
  const int64_t ps = PS > 0 ? PS : t.pixStride;
  const int64_t ldw = t.ldw;
  const float* wr = t.w;
  for (int tap = 0; tap < t.taps; ++tap) {
    const float* xa = t.x + t.tapOff[tap];
    for (int ci = 0; ci < t.inC; ++ci, wr += ldw) {
      __m256 b[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v)
        b[v] = v == NV - 1 ? _mm256_maskload_ps(wr + 8 * v, lastMask) : _mm256_loadu_ps(wr + 8 * v);
#pragma GCC unroll 14
      for (int r = 0; r < MR; ++r) {
        const __m256 a = _mm256_broadcast_ss(xa + ci + r * ps);
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(a, b[v], acc[r][v]);
      }
    }
  }
  if (t.alpha != nullptr) {
    // PReLU in registers: v < 0 ? alpha * v : v.
    const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      const __m256 al = _mm256_maskload_ps(t.alpha + 8 * v, v == NV - 1 ? lastMask : all);
#pragma GCC unroll 14
      for (int r = 0; r < MR; ++r)
        acc[r][v] = _mm256_blendv_ps(acc[r][v], _mm256_mul_ps(acc[r][v], al), _mm256_cmp_ps(acc[r][v], zero, _CMP_LT_OQ));
    }
  }
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r) {
    float* o = t.out + r * t.ldo;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1) _mm256_maskstore_ps(o + 8 * v, lastMask, acc[r][v]);
      else _mm256_storeu_ps(o + 8 * v, acc[r][v]);
    }
  }
}

using TileFn = void (*)(const Tile&);

/// Rows per tile by vector count: at most 28 accumulators plus the filter vectors and a broadcast. One vector (16
/// output channels) takes 28 rows: the UNet's 16-channel convolutions at 112 px ran 3-5% faster than with 14
/// ([40,112,112,16] 3x3: 6.0-6.4 -> 5.9 ms; bench:label --forward 0.334-0.345 -> 0.323-0.331 s, alternating).
constexpr int kMr[5] = {0, 28, 12, 8, 6};

template <int NV, int... R>
constexpr std::array<TileFn, sizeof...(R)> tileTable(std::integer_sequence<int, R...>) {
  return {&directTile<R + 1, NV>...};
}

const TileFn* tilesFor(int nv) {
  static const auto t1 = tileTable<1>(std::make_integer_sequence<int, kMr[1]>{});
  static const auto t2 = tileTable<2>(std::make_integer_sequence<int, kMr[2]>{});
  static const auto t3 = tileTable<3>(std::make_integer_sequence<int, kMr[3]>{});
  static const auto t4 = tileTable<4>(std::make_integer_sequence<int, kMr[4]>{});
  switch (nv) {
    case 1: return t1.data();
    case 2: return t2.data();
    case 3: return t3.data();
    default: return t4.data();
  }
}

template <int NV, int PS>
constexpr TileFn fullTile() { return &directTile<kMr[NV], NV, PS>; }

/// AVX2 rows per tile by vector count: at most 14 accumulators plus the filter vectors and a broadcast (16 ymm).
constexpr int kMrAvx2[3] = {0, 14, 6};

template <int NV, int... R>
constexpr std::array<TileFn, sizeof...(R)> tileTableAvx2(std::integer_sequence<int, R...>) {
  return {&directTileAvx2<R + 1, NV>...};
}

const TileFn* tilesForAvx2(int nv) {
  static const auto t1 = tileTableAvx2<1>(std::make_integer_sequence<int, kMrAvx2[1]>{});
  static const auto t2 = tileTableAvx2<2>(std::make_integer_sequence<int, kMrAvx2[2]>{});
  return nv == 1 ? t1.data() : t2.data();
}

template <int NV, int PS>
constexpr TileFn fullTileAvx2() { return &directTileAvx2<kMrAvx2[NV], NV, PS>; }

/// The full-width tile with the pixel stride as a compile-time constant, for the common strides: every tap
/// address is then one pointer plus a constant, so the inner loop needs no per-row pointer registers.
TileFn fullTileFor(int nv, int64_t ps) {
  switch (ps) {
#define DIFFIQA_PS(P) \
  case P: return nv == 1 ? fullTile<1, P>() : nv == 2 ? fullTile<2, P>() : nv == 3 ? fullTile<3, P>() : fullTile<4, P>();
    DIFFIQA_PS(16) DIFFIQA_PS(32) DIFFIQA_PS(48) DIFFIQA_PS(64) DIFFIQA_PS(96) DIFFIQA_PS(128)
#undef DIFFIQA_PS
    default: return nullptr;
  }
}

TileFn fullTileForAvx2(int nv, int64_t ps) {
  switch (ps) {
#define DIFFIQA_PS(P) \
  case P: return nv == 1 ? fullTileAvx2<1, P>() : fullTileAvx2<2, P>();
    DIFFIQA_PS(16) DIFFIQA_PS(32) DIFFIQA_PS(48) DIFFIQA_PS(64) DIFFIQA_PS(96) DIFFIQA_PS(128)
#undef DIFFIQA_PS
    default: return nullptr;
  }
}

/// Output channels per column group: four 16-wide vectors on AVX-512, two 8-wide ones on AVX2 (16 registers).
int64_t columnGroup() { return currentIsa() == Isa::avx512 ? 64 : 16; }

/// The ISA's register tiles for one column group of `width` output columns (at most columnGroup()): mr rows per full
/// tile, the tiles of 1..mr rows, the full tile with pixel stride `ps` compiled in (or null), the valid lanes of the
/// last vector.
struct GroupTiles {
  int mr;
  const TileFn* fns;
  TileFn full;
  int lastCols;
  /// Runs `t` over `rows` (1..mr) pixels.
  void run(const Tile& t, int rows) const {
    if (rows == mr && full != nullptr) full(t);
    else fns[rows - 1](t);
  }
};

GroupTiles groupTiles(int64_t width, int64_t ps) {
  const bool avx512 = currentIsa() == Isa::avx512;
  const int64_t lanes = avx512 ? 16 : 8;
  const int nv = static_cast<int>((width + lanes - 1) / lanes);
  return {avx512 ? kMr[nv] : kMrAvx2[nv], avx512 ? tilesFor(nv) : tilesForAvx2(nv),
          avx512 ? fullTileFor(nv, ps) : fullTileForAvx2(nv, ps), static_cast<int>(width - lanes * (nv - 1))};
}

bool directDisabled() {
  const char* env = std::getenv("DIFFIQA_CONV_DIRECT");
  return env != nullptr && env[0] == '0';
}

/// Copies the input rows that output rows [oy0, oy1) of image b read into `buf` (band layout: rows of wp pixels,
/// zero outside the input), growing it as needed.
void copyBand(const ConvGeom& g, const float* x, int64_t b, int64_t oy0, int64_t oy1, int64_t wp, int64_t colLo,
              int64_t colHi, std::vector<float>& buf, const ChannelPair* pair = nullptr) {
  const int64_t C = g.inC;
  const int64_t rowsNeeded = (oy1 - 1 - oy0) * g.strideH + (g.fH - 1) * g.dilH + 1;
  if (buf.size() < static_cast<size_t>(rowsNeeded * wp * C)) buf.resize(static_cast<size_t>(rowsNeeded * wp * C));
  const int64_t srcCol0 = colLo - g.padLeft;
  const int64_t iy0 = oy0 * g.strideH - g.padTop;
  for (int64_t r = 0; r < rowsNeeded; ++r) {
    float* dst = buf.data() + r * wp * C;
    const int64_t iy = iy0 + r;
    if (iy < 0 || iy >= g.inH || colHi <= colLo) {
      std::memset(dst, 0, sizeof(float) * wp * C);
      continue;
    }
    std::memset(dst, 0, sizeof(float) * colLo * C);
    const int64_t pixel0 = (b * g.inH + iy) * g.inW + srcCol0;
    if (pair == nullptr) {
      std::memcpy(dst + colLo * C, x + pixel0 * C, sizeof(float) * (colHi - colLo) * C);
    } else {
      // The concatenation assembled here, pixel by pixel: the copy the band makes anyway.
      for (int64_t col = colLo; col < colHi; ++col) {
        const int64_t pixel = pixel0 + col - colLo;
        copyElems(dst + col * C, pair->a + pixel * pair->ca, pair->ca);
        copyElems(dst + col * C + pair->ca, pair->b + pixel * pair->cb, pair->cb);
      }
    }
    std::memset(dst + colHi * C, 0, sizeof(float) * (wp - colHi) * C);
  }
}

/// Filter-gradient block: acc[ci][v] (CB input channels x NV 16-wide output-channel vectors) += sum over `count`
/// output pixels of x[pixel * pixStride + ci] * dy[pixel * ldy + 16 v], then added into dw rows (ldw = outC).
template <int CB, int NV>
__attribute__((target("avx512f"))) void filterGradBlock(const float* x, int64_t pixStride, const float* dy,
                                                         int64_t ldy, int64_t count, int cb, int lastCols,
                                                         float* dw, int64_t ldw) {
  const __mmask16 lastMask = static_cast<__mmask16>((1u << lastCols) - 1u);
  __m512 acc[CB][NV];
#pragma GCC unroll 24
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < count; ++p, x += pixStride, dy += ldy) {
    __m512 d[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      d[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(lastMask, dy + 16 * v) : _mm512_loadu_ps(dy + 16 * v);
#pragma GCC unroll 24
    for (int c = 0; c < CB; ++c) {
      if (c >= cb) break;
      const __m512 a = _mm512_set1_ps(x[c]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[c][v] = _mm512_fmadd_ps(a, d[v], acc[c][v]);
    }
  }
#pragma GCC unroll 24
  for (int c = 0; c < CB; ++c) {
    if (c >= cb) break;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* o = dw + c * ldw + 16 * v;
      const __mmask16 m = v == NV - 1 ? lastMask : static_cast<__mmask16>(0xFFFF);
      _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc[c][v]));
    }
  }
}

/// The AVX2 filter-gradient block: CB input channels x NV 8-wide output-channel vectors (NV <= 2) in 16 ymm registers
/// (written out beside filterGradBlock for the reason given at directTileAvx2).
template <int CB, int NV>
__attribute__((target("avx2,fma"))) void filterGradBlockAvx2(const float* x, int64_t pixStride, const float* dy,
                                                              int64_t ldy, int64_t count, int cb, int lastCols,
                                                              float* dw, int64_t ldw) {
  const __m256i lastMask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lastCols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i all = _mm256_set1_epi32(-1);
  __m256 acc[CB][NV];
#pragma GCC unroll 14
  for (int c = 0; c < CB; ++c)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_setzero_ps();
  for (int64_t p = 0; p < count; ++p, x += pixStride, dy += ldy) {
    __m256 d[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) d[v] = v == NV - 1 ? _mm256_maskload_ps(dy + 8 * v, lastMask) : _mm256_loadu_ps(dy + 8 * v);
#pragma GCC unroll 14
    for (int c = 0; c < CB; ++c) {
      if (c >= cb) break;
      const __m256 a = _mm256_broadcast_ss(x + c);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_fmadd_ps(a, d[v], acc[c][v]);
    }
  }
#pragma GCC unroll 14
  for (int c = 0; c < CB; ++c) {
    if (c >= cb) break;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      float* o = dw + c * ldw + 8 * v;
      const __m256i m = v == NV - 1 ? lastMask : all;
      _mm256_maskstore_ps(o, m, _mm256_add_ps(_mm256_maskload_ps(o, m), acc[c][v]));
    }
  }
}

using FilterGradFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int, int, float*, int64_t);
constexpr int kCb[5] = {0, 24, 12, 6, 5};
constexpr int kCbAvx2[3] = {0, 14, 6};

}  // namespace

bool conv2dDirectApplies(const ConvGeom& g) {
  if (directDisabled() || currentIsa() == Isa::portable) return false;
  if (g.rows() == 0) return false;
  // A pointwise conv is a plain GEMM with no im2col; the direct kernel only wins when outC is small (an outC of 16
  // fills half of the GEMM's 32-column tile, and a short reduction makes its C-tile stores dominate).
  if (g.isPointwise() && (g.outC > 64 || g.inC > 256)) return false;
  // Wide reductions (taps * inC) are the GEMM's strength (KC blocking keeps its B panel in cache); the direct
  // kernel re-reads a filter block of taps * inC * 64 floats per tile.
  // AVX2 tiles hold 16 output channels, so a wide output re-reads the input once per 16: from 256 output channels
  // the GEMM wins (measured 14x14x128->256: 237 against 179 GFLOP/s; at 128 they tie).
  if (currentIsa() == Isa::avx2 && g.outC > 128) return false;
  return g.taps() <= 9 * 128 && g.inC <= 128;
}

void conv2dDirect(const ConvGeom& g, const float* x, const float* w, const float* bias, float* out,
                  const float* alpha, const ChannelPair* pair) {
  const int64_t C = g.inC, OC = g.outC;
  const int64_t wp = (g.outW - 1) * g.strideW + (g.fW - 1) * g.dilW + 1;  // padded band width
  const int64_t colLo = std::clamp<int64_t>(g.padLeft, 0, wp);             // first band column holding input
  const int64_t colHi = std::clamp<int64_t>(g.padLeft + g.inW, colLo, wp);
  // Undilated along W, a filter row's fW taps x C channels are fW * C consecutive floats both in the band and in the
  // filter, so they run as one tap of fW * C channels: the same products summed in the same order (bit for bit), in
  // a longer inner loop (7x7 with 3 channels: 7 taps of 21 instead of 49 of 3).
  const bool rowTaps = g.dilW == 1;
  const int64_t tapCount = rowTaps ? g.fH : g.fH * g.fW, tapChannels = rowTaps ? g.fW * C : C;
  std::vector<int64_t> tapOff(static_cast<size_t>(tapCount));
  for (int64_t kh = 0; kh < g.fH; ++kh)
    for (int64_t kw = 0; kw < (rowTaps ? 1 : g.fW); ++kw)
      tapOff[rowTaps ? kh : kh * g.fW + kw] = (kh * g.dilH * wp + kw * g.dilW) * C;
  // Bands of output rows: enough tasks for the pool, few enough that halo rows are a small overhead.
  const int64_t threads = pool().size();
  const int64_t want = std::max<int64_t>(1, (8 * threads + g.batch - 1) / g.batch);
  const int64_t band = std::max<int64_t>(1, std::min<int64_t>(8, (g.outH + want - 1) / want));
  const int64_t bandsPerImage = (g.outH + band - 1) / band;
  const int taps = static_cast<int>(tapCount);
  const int64_t group = columnGroup();
  pool().run(g.batch * bandsPerImage, [&](int64_t task, int) {
    const int64_t b = task / bandsPerImage, oy0 = (task % bandsPerImage) * band;
    const int64_t oy1 = std::min(g.outH, oy0 + band);
    thread_local std::vector<float> buf;
    // A pointwise conv reads its input rows in place (no borders, no stride): the band copy would only be a pass
    // (unless it assembles a channel pair).
    const bool inPlace = g.isPointwise() && pair == nullptr;
    if (!inPlace) copyBand(g, x, b, oy0, oy1, wp, colLo, colHi, buf, pair);
    const float* band = inPlace ? x + (b * g.inH + oy0) * g.inW * C : buf.data();
    for (int64_t j0 = 0; j0 < OC; j0 += group) {
      const GroupTiles tiles = groupTiles(std::min<int64_t>(group, OC - j0), g.strideW * C);
      Tile t{};
      t.pixStride = g.strideW * C;
      t.tapOff = tapOff.data();
      t.taps = taps;
      t.inC = static_cast<int>(tapChannels);
      t.w = w + j0;
      t.ldw = OC;
      t.bias = bias != nullptr ? bias + j0 : nullptr;
      t.alpha = alpha != nullptr ? alpha + j0 : nullptr;
      t.lastCols = tiles.lastCols;
      t.ldo = OC;
      for (int64_t oy = oy0; oy < oy1; ++oy) {
        const float* rowIn = band + (oy - oy0) * g.strideH * wp * C;
        float* rowOut = out + ((b * g.outH + oy) * g.outW) * OC + j0;
        for (int64_t ox = 0; ox < g.outW; ox += tiles.mr) {
          t.x = rowIn + ox * g.strideW * C;
          t.out = rowOut + ox * OC;
          tiles.run(t, static_cast<int>(std::min<int64_t>(tiles.mr, g.outW - ox)));
        }
      }
    }
  });
}

int64_t smallGemmRows(int64_t cols) { return groupTiles(std::min(cols, columnGroup()), 0).mr; }

void smallGemm(const float* a, int64_t lda, int64_t K, const float* w, int64_t ldw, int64_t cols, float* out,
               int64_t rows, int64_t planes, int64_t aPlane, int64_t wPlane, int64_t outPlane, const float* bias) {
  // One tap at offset 0 with K input channels: the direct tile's walk over taps x channels is then a plain
  // row-times-matrix product, with `lda` as the pixel stride.
  static const int64_t kTapZero[1] = {0};
  const int64_t group = columnGroup();
  for (int64_t j0 = 0; j0 < cols; j0 += group) {
    const GroupTiles tiles = groupTiles(std::min(group, cols - j0), lda);
    Tile t{};
    t.pixStride = lda;
    t.tapOff = kTapZero;
    t.taps = 1;
    t.inC = static_cast<int>(K);
    t.ldw = ldw;
    t.bias = bias != nullptr ? bias + j0 : nullptr;
    t.lastCols = tiles.lastCols;
    t.ldo = cols;
    for (int64_t p = 0; p < planes; ++p) {
      t.w = w + p * wPlane + j0;
      for (int64_t r0 = 0; r0 < rows; r0 += tiles.mr) {
        t.x = a + p * aPlane + r0 * lda;
        t.out = out + p * outPlane + r0 * cols + j0;
        tiles.run(t, static_cast<int>(std::min<int64_t>(tiles.mr, rows - r0)));
      }
    }
  }
}

bool conv2dBackpropFilterDirectApplies(const ConvGeom& g) {
  return conv2dDirectApplies(g) && !g.isPointwise() && g.outC <= 64;
}

void conv2dBackpropFilterDirect(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t C = g.inC, OC = g.outC, taps = g.fH * g.fW;
  const int64_t wp = (g.outW - 1) * g.strideW + (g.fW - 1) * g.dilW + 1;
  const int64_t colLo = std::clamp<int64_t>(g.padLeft, 0, wp);
  const int64_t colHi = std::clamp<int64_t>(g.padLeft + g.inW, colLo, wp);
  // Column groups of output channels: all of them (up to 64, four 16-wide vectors) on AVX-512, 16 on AVX2.
  const bool avx512 = currentIsa() == Isa::avx512;
  const int64_t lanes = avx512 ? 16 : 8, group = avx512 ? 64 : 16;
  static const FilterGradFn fns512[5] = {nullptr, &filterGradBlock<24, 1>, &filterGradBlock<12, 2>,
                                         &filterGradBlock<6, 3>, &filterGradBlock<5, 4>};
  static const FilterGradFn fnsAvx2[3] = {nullptr, &filterGradBlockAvx2<14, 1>, &filterGradBlockAvx2<6, 2>};
  const int64_t band = 4;
  const int64_t bandsPerImage = (g.outH + band - 1) / band;
  const int64_t tasks = g.batch * bandsPerImage, len = taps * C * OC;
  // Bands are summed in a fixed order (orderedReduce), so the gradient does not depend on thread timing.
  orderedReduce(tasks, reduceRanges(tasks, len), len, [&](int64_t t0, int64_t t1, float* acc) {
   for (int64_t task = t0; task < t1; ++task) {
    const int64_t b = task / bandsPerImage, oy0 = (task % bandsPerImage) * band;
    const int64_t oy1 = std::min(g.outH, oy0 + band);
    thread_local std::vector<float> buf;
    copyBand(g, x, b, oy0, oy1, wp, colLo, colHi, buf);
    for (int64_t oy = oy0; oy < oy1; ++oy) {
      const float* rowIn = buf.data() + (oy - oy0) * g.strideH * wp * C;
      const float* dyRow = dy + (b * g.outH + oy) * g.outW * OC;
      for (int64_t kh = 0; kh < g.fH; ++kh)
        for (int64_t kw = 0; kw < g.fW; ++kw) {
          const float* xt = rowIn + (kh * g.dilH * wp + kw * g.dilW) * C;
          float* dwTap = acc + (kh * g.fW + kw) * C * OC;
          for (int64_t j0 = 0; j0 < OC; j0 += group) {
            const int64_t cols = std::min<int64_t>(group, OC - j0);
            const int nv = static_cast<int>((cols + lanes - 1) / lanes);
            const int cbMax = avx512 ? kCb[nv] : kCbAvx2[nv];
            const FilterGradFn fn = avx512 ? fns512[nv] : fnsAvx2[nv];
            const int lastCols = static_cast<int>(cols - lanes * (nv - 1));
            for (int64_t c0 = 0; c0 < C; c0 += cbMax) {
              const int cb = static_cast<int>(std::min<int64_t>(cbMax, C - c0));
              fn(xt + c0, g.strideW * C, dyRow + j0, OC, g.outW, cb, lastCols, dwTap + c0 * OC + j0, OC);
            }
          }
        }
    }
   }
  }, dw);
}

}  // namespace diffiqa
