// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) for
// 3x3 stride-1 convolutions with 32 to 256 input channels: most of the UNet's, and the stride-1 input gradients,
// which are forward convolutions (conv_impl.cc).
//
// Why: the direct kernel (conv_direct_impl.cc) spends 9 * inC multiply-adds per output pixel and channel, and at 16
// channels it reaches only ~60% of the FMA peak (each multiply-add needs its own broadcast of one input value).
// F(2x2, 3x3) computes a 2x2 block of outputs from a 4x4 block of inputs with 16 products per channel pair instead of
// 36 (2.25x fewer multiply-adds), at the price of two cheap transforms made of additions only:
//   V = B^T d B (input tile, per input channel),  U = G g G^T (filter, once per call),
//   M[p] = sum_ci V[p, ci] U[p, ci, :] for each of the 16 positions p (16 small GEMMs, on the direct kernel's tiles),
//   Y = A^T M A (2x2 outputs, per output channel), then the bias and PReLU.
// In NHWC a pixel's channels are contiguous, so every transform is a handful of vector additions over 16 channels.
// Measured against the direct kernel (batch 40, both ISAs): 1.3-1.6x from 48 input channels, 1.07-1.14x at 32 in
// and 16 out, but 0.85-1.07x at 16 -> 16, where a transform's loads and stores weigh as much as its 16 x 16
// products: 16 input channels stay direct, and so do outputs of fewer than 256 tiles (conv2dWinogradApplies).
// The results equal the direct convolution's up to float32 rounding (a differently ordered sum; checked against a
// float64 reference in test/backend/native-conv-direct.test.ts): the transforms' coefficients are 0, +-1 and +-1/2.
//
// A task takes a run of blocks of T consecutive tiles (2x2 output pixels); a block's transformed inputs V [16][T][inC]
// and products M [16][T][outC] stay in the thread's cache. Inputs are read in place (no band copy, which took ~9% of
// the time): only the tiles that overlap the padding are staged.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "conv.h"
#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

typedef float V16 __attribute__((vector_size(64)));  // 16 channels of one pixel

/// DIFFIQA_CONV_WINOGRAD: "0" turns Winograd off, "1" takes it wherever the shape allows, even below kMinTiles
/// (tests, benchmarks); unset, it runs where it measured faster.
char winogradSetting() {
  const char* env = std::getenv("DIFFIQA_CONV_WINOGRAD");
  return env != nullptr && (env[0] == '0' || env[0] == '1') ? env[0] : 'a';
}

/// Largest channel count conv2dWinogradApplies takes (the filter transform stages rows of this many floats), and the
/// fewest 2x2 output tiles.
constexpr int64_t kMaxChannels = 256, kMinTiles = 256;

/// U[p][ci][co] = (G g G^T)[p / 4][p % 4] for the 3x3 filter g = w[:, :, ci, co] (HWIO), for co in [0, OC), in
/// double then rounded once. G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]. The 9 tap rows and the 16
/// plane rows are staged in contiguous local arrays: read and written in place, all 25 streams lie a multiple of
/// C * OC floats apart, which at 256 x 256 channels put them in one L1 set (73% of a batch-1 convolution's time).
DIFFIQA_KERNEL_BODY void filterRowBody(const float* w, int64_t C, int64_t OC, int64_t ci, float* u) {
  float g[9][kMaxChannels], o[16][kMaxChannels];
  for (int k = 0; k < 9; ++k) std::memcpy(g[k], w + (k * C + ci) * OC, sizeof(float) * OC);
  for (int64_t co = 0; co < OC; ++co) {
    double t[4][3];
    for (int kw = 0; kw < 3; ++kw) {
      const double g0 = g[kw][co], g1 = g[3 + kw][co], g2 = g[6 + kw][co];
      t[0][kw] = g0;
      t[1][kw] = 0.5 * (g0 + g1 + g2);
      t[2][kw] = 0.5 * (g0 - g1 + g2);
      t[3][kw] = g2;
    }
    for (int i = 0; i < 4; ++i) {
      o[i * 4 + 0][co] = static_cast<float>(t[i][0]);
      o[i * 4 + 1][co] = static_cast<float>(0.5 * (t[i][0] + t[i][1] + t[i][2]));
      o[i * 4 + 2][co] = static_cast<float>(0.5 * (t[i][0] - t[i][1] + t[i][2]));
      o[i * 4 + 3][co] = static_cast<float>(t[i][2]);
    }
  }
  for (int p = 0; p < 16; ++p) std::memcpy(u + (p * C + ci) * OC, o[p], sizeof(float) * OC);
}
DIFFIQA_MULTIVERSION(filterRow, (const float* w, int64_t C, int64_t OC, int64_t ci, float* u), (w, C, OC, ci, u))

/// The transformed filter U [16][C][OC], one task per input channel, in the calling thread's buffer: a fresh 4 MiB
/// vector per call (256 x 256 channels) was zeroed and page-faulted each time, which cost more than the convolution
/// at batch 1.
const float* transformFilter(const float* w, int64_t C, int64_t OC) {
  thread_local std::vector<float> u;
  if (u.size() < static_cast<size_t>(16 * C * OC)) u.resize(static_cast<size_t>(16 * C * OC));
  float* dst = u.data();
  pool().run(C, [&](int64_t ci, int) { filterRow(w, C, OC, ci, dst); });
  return dst;
}

/// Floats between the 16 planes of a block's V [16][T][inC] and M [16][T][outC]. A constant, so that a transform's
/// 16 loads or stores are one pointer plus immediate offsets (with a run-time T * C the compiler kept a pointer per
/// plane and spilled them), and not a power of two: 16 planes 8 KiB apart would share L1 sets. conv2dWinograd keeps
/// T * max(C, OC) <= kPlane.
constexpr int64_t kPlane = 2048 + 16;

/// V[p][t][c] = (B^T d B)[p / 4][p % 4] for the 4x4 input tiles t < tiles of a tile row and channels c < C: tile t's
/// row i starts at row[i] + 2 t P (P floats between pixels: C, or a channel pair's part), and tile t's transformed
/// channels at V + t * ldv. B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
DIFFIQA_KERNEL_BODY void winogradInputBody(const float* r0, const float* r1, const float* r2, const float* r3, int64_t P, int64_t C, int64_t tiles, float* V, int64_t ldv) {
  const float* row[4] = {r0, r1, r2, r3};
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t c = 0; c < C; c += 16) {
      float* dst = V + t * ldv + c;
      V16 d[4][4], r[4][4];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) std::memcpy(&d[i][j], row[i] + (2 * t + j) * P + c, sizeof(V16));
      for (int j = 0; j < 4; ++j) {
        r[0][j] = d[0][j] - d[2][j];
        r[1][j] = d[1][j] + d[2][j];
        r[2][j] = d[2][j] - d[1][j];
        r[3][j] = d[1][j] - d[3][j];
      }
      for (int i = 0; i < 4; ++i) {
        const V16 v[4] = {r[i][0] - r[i][2], r[i][1] + r[i][2], r[i][2] - r[i][1], r[i][1] - r[i][3]};
        for (int j = 0; j < 4; ++j) std::memcpy(dst + (i * 4 + j) * kPlane, &v[j], sizeof(V16));
      }
    }
}
DIFFIQA_MULTIVERSION(winogradInput, (const float* r0, const float* r1, const float* r2, const float* r3, int64_t P, int64_t C, int64_t tiles, float* V, int64_t ldv), (r0, r1, r2, r3, P, C, tiles, V, ldv))

/// Output tiles t < tiles from M[p][t][co]: Y = A^T M A with A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], plus the bias,
/// then PReLU (v < 0 ? alpha v : v, as the direct kernel); rows < `rows` (1 or 2) and columns < `cols` of the band's
/// 2-row strip are stored, tile t's top-left output at out + 2 t OC (rows `rowStride` floats apart).
DIFFIQA_KERNEL_BODY void winogradOutputBody(const float* M, int64_t OC, int64_t tiles, const float* bias, const float* alpha, float* out, int64_t rowStride, int64_t rows, int64_t cols) {
  const V16 zero = {};
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t co = 0; co < OC; co += 16) {
      const float* src = M + t * OC + co;
      V16 m[4][4], s[2][4];
      for (int p = 0; p < 16; ++p) std::memcpy(&m[p / 4][p % 4], src + p * kPlane, sizeof(V16));
      for (int j = 0; j < 4; ++j) {
        s[0][j] = m[0][j] + m[1][j] + m[2][j];
        s[1][j] = m[1][j] - m[2][j] - m[3][j];
      }
      V16 y[2][2];
      for (int i = 0; i < 2; ++i) {
        y[i][0] = s[i][0] + s[i][1] + s[i][2];
        y[i][1] = s[i][1] - s[i][2] - s[i][3];
      }
      V16 b = {}, a = {};
      if (bias != nullptr) std::memcpy(&b, bias + co, sizeof(V16));
      if (alpha != nullptr) std::memcpy(&a, alpha + co, sizeof(V16));
      float* dst = out + 2 * t * OC + co;
      for (int i = 0; i < 2 && i < rows; ++i)
        for (int j = 0; j < 2 && 2 * t + j < cols; ++j) {
          V16 v = y[i][j];
          if (bias != nullptr) v += b;
          if (alpha != nullptr) v = v < zero ? v * a : v;
          std::memcpy(dst + i * rowStride + j * OC, &v, sizeof(V16));
        }
    }
}
DIFFIQA_MULTIVERSION(winogradOutput, (const float* M, int64_t OC, int64_t tiles, const float* bias, const float* alpha, float* out, int64_t rowStride, int64_t rows, int64_t cols), (M, OC, tiles, bias, alpha, out, rowStride, rows, cols))

}  // namespace

bool conv2dWinogradApplies(const ConvGeom& g) {
  const char setting = winogradSetting();
  if (setting == '0' || currentIsa() == Isa::portable || g.rows() == 0) return false;
  // Up to 256 channels: a block's planes then hold at least 8 tiles (kPlane). The transformed filter, 16 x inC x outC
  // floats, is rebuilt per call, which small outputs do not repay: at batch 1, medians of 9 against the direct
  // kernel, 16 tiles (7x7) ran 0.52-0.54x, 49 (14x14) 0.66-1.36x, 196 (28x28) 0.89-1.16x, 784 (56x56) 1.41-1.50x.
  if (setting != '1' && g.batch * ((g.outH + 1) / 2) * ((g.outW + 1) / 2) < kMinTiles) return false;
  return g.fH == 3 && g.fW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilH == 1 && g.dilW == 1 &&
         g.inC % 16 == 0 && g.outC % 16 == 0 && g.inC >= 32 && g.inC <= kMaxChannels && g.outC <= kMaxChannels;
}

void conv2dWinograd(const ConvGeom& g, const float* x, const float* w, const float* bias, float* out,
                    const float* alpha, const ChannelPair* pair) {
  const int64_t C = g.inC, OC = g.outC;
  // The input's parts: x alone, or a channel pair's two tensors, each with its channel count (its pixel stride) and
  // its first channel in the concatenation.
  struct Part {
    const float* x;
    int64_t channels, first;
  };
  const std::vector<Part> parts = pair == nullptr ? std::vector<Part>{{x, C, 0}}
                                                  : std::vector<Part>{{pair->a, pair->ca, 0}, {pair->b, pair->cb, pair->ca}};
  const float* U = transformFilter(w, C, OC);
  const int64_t tilesX = (g.outW + 1) / 2, tilesY = (g.outH + 1) / 2, perImage = tilesX * tilesY;
  const int64_t total = g.batch * perImage;
  // Tiles read input columns 2t - padLeft .. 2t - padLeft + 3: those of [tFirst, tEnd) lie inside the image and are
  // read in place; the others (at most a few per row, with the padding) are staged with zeros.
  const int64_t tFirst = std::min(tilesX, (g.padLeft + 1) / 2);
  const int64_t tEnd = std::clamp<int64_t>(g.inW + g.padLeft - 4 >= 0 ? (g.inW + g.padLeft - 4) / 2 + 1 : 0, tFirst, tilesX);
  // Tiles per block: one full GEMM tile per column group, fewer where a plane of T rows of max(C, OC) floats would
  // not fit kPlane (256 input channels with 16 or 32 output channels). Blocks of several GEMM tiles, which read each
  // plane's transformed filter once per more tiles, measured no faster up to 128 channels.
  const int64_t T = std::min(smallGemmRows(OC), kPlane / std::max(C, OC));
  // Blocks are runs of T consecutive tiles in (image, tile row, tile column) order, so they span tile rows: with
  // blocks cut at row ends, a 14x14 image (7 tiles a row) ran blocks of 6 and 1 tiles, each reading all of U (4 MiB
  // at 256 x 256 channels), and was 2x slower than the direct kernel. Tasks: up to 16 blocks, at least 8 per thread.
  const int64_t threads = pool().size();
  const int64_t blocks = (total + T - 1) / T;
  const int64_t blocksPerTask = std::clamp<int64_t>(blocks / (8 * threads), 1, 16);
  const int64_t tasks = (blocks + blocksPerTask - 1) / blocksPerTask;
  const std::vector<float> zeros(static_cast<size_t>((g.inW + 4) * C), 0.f);  // the rows above and below the image
  // Visits the runs of block [k0, k1): tiles [tx0, tx1) of tile row ty of image b, the first at slot k - k0.
  const auto forRuns = [&](int64_t k0, int64_t k1, const auto& fn) {
    for (int64_t k = k0; k < k1;) {
      const int64_t b = k / perImage, ty = k % perImage / tilesX, tx0 = k % tilesX;
      const int64_t tx1 = std::min(tilesX, tx0 + (k1 - k));
      fn(b, ty, tx0, tx1, k - k0);
      k += tx1 - tx0;
    }
  };
  pool().run(tasks, [&](int64_t task, int) {
    thread_local std::vector<float> V, M, stage;
    if (V.size() < static_cast<size_t>(16 * kPlane)) V.resize(static_cast<size_t>(16 * kPlane));
    if (M.size() < static_cast<size_t>(16 * kPlane)) M.resize(static_cast<size_t>(16 * kPlane));
    if (stage.size() < static_cast<size_t>(16 * C)) stage.resize(static_cast<size_t>(16 * C));
    const int64_t end = std::min(total, (task + 1) * blocksPerTask * T);
    for (int64_t k0 = task * blocksPerTask * T; k0 < end; k0 += T) {
      const int64_t k1 = std::min(end, k0 + T);
      forRuns(k0, k1, [&](int64_t b, int64_t ty, int64_t tx0, int64_t tx1, int64_t slot) {
        const int64_t i0 = std::clamp(tFirst, tx0, tx1), i1 = std::clamp(tEnd, i0, tx1);
        for (const Part& part : parts) {
          const int64_t P = part.channels;
          const float* rows[4];
          for (int i = 0; i < 4; ++i) {
            const int64_t iy = 2 * ty - g.padTop + i;
            rows[i] = iy >= 0 && iy < g.inH ? part.x + (b * g.inH + iy) * g.inW * P : nullptr;
          }
          // Row i of tile t read in place, from its input column 2t - padLeft (a zero row outside the image).
          const auto at = [&](int i, int64_t t) { return rows[i] != nullptr ? rows[i] + (2 * t - g.padLeft) * P : zeros.data(); };
          if (i1 > i0) {
            winogradInput(at(0, i0), at(1, i0), at(2, i0), at(3, i0), P, P, i1 - i0, V.data() + (slot + i0 - tx0) * C + part.first, C);
          }
          for (int64_t t = tx0; t < tx1; ++t) {
            if (t >= i0 && t < i1) continue;
            for (int i = 0; i < 4; ++i)
              for (int j = 0; j < 4; ++j) {
                const int64_t ix = 2 * t - g.padLeft + j;
                float* dst = stage.data() + (i * 4 + j) * P;
                if (rows[i] != nullptr && ix >= 0 && ix < g.inW) std::memcpy(dst, rows[i] + ix * P, sizeof(float) * P);
                else std::memset(dst, 0, sizeof(float) * P);
              }
            const float* st = stage.data();
            winogradInput(st, st + 4 * P, st + 8 * P, st + 12 * P, P, P, 1, V.data() + (slot + t - tx0) * C + part.first, C);
          }
        }
      });
      smallGemm(V.data(), C, C, U, OC, OC, M.data(), k1 - k0, 16, kPlane, C * OC, kPlane);
      forRuns(k0, k1, [&](int64_t b, int64_t ty, int64_t tx0, int64_t tx1, int64_t slot) {
        winogradOutput(M.data() + slot * OC, OC, tx1 - tx0, bias, alpha, out + ((b * g.outH + 2 * ty) * g.outW + 2 * tx0) * OC,
                       g.outW * OC, g.outH - 2 * ty, g.outW - 2 * tx0);
      });
    }
  });
}

}  // namespace diffiqa
