// Conv2D and its gradients as GEMMs over implicit im2col matrices (never materialised when avoidable):
// - forward: out = im2col(x) * W, im2col rows packed straight from the NHWC input;
// - input gradient, stride 1: a forward convolution of dY with the spatially flipped, in/out-swapped filter;
//   other strides: dCols = dY * W^T per chunk of images, then a gather-style col2im (no write races);
// - filter gradient: dW^T = dY^T * im2col(x), im2col rows packed as B panels, then transposed.
// A 1x1 stride-1 unpadded convolution is a plain GEMM in all three.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "conv.h"
#include "data_movement.h"
#include "gemm.h"
#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// Writes the taps [k0, k0+kc) of im2col row `row` to dst[kk * stride].
void im2colRow(const ConvGeom& g, const float* x, int64_t row, int64_t k0, int64_t kc, float* dst, int64_t stride) {
  const int64_t ox = row % g.outW;
  const int64_t oy = (row / g.outW) % g.outH;
  const int64_t b = row / (g.outW * g.outH);
  int64_t k = k0;
  const int64_t kend = k0 + kc;
  while (k < kend) {
    const int64_t tap = k / g.inC, ci = k % g.inC;
    const int64_t len = std::min(g.inC - ci, kend - k);
    const int64_t kh = tap / g.fW, kw = tap % g.fW;
    const int64_t iy = oy * g.strideH - g.padTop + kh * g.dilH;
    const int64_t ix = ox * g.strideW - g.padLeft + kw * g.dilW;
    float* out = dst + (k - k0) * stride;
    if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) {
      for (int64_t j = 0; j < len; ++j) out[j * stride] = 0.f;
    } else {
      const float* src = x + ((b * g.inH + iy) * g.inW + ix) * g.inC + ci;
      if (stride == 1) std::memcpy(out, src, sizeof(float) * len);
      else
        for (int64_t j = 0; j < len; ++j) out[j * stride] = src[j];
    }
    k += len;
  }
}

/// im2col(x) as the right operand: B(k = output pixel, j = tap).
class Im2colB final : public BSource {
 public:
  Im2colB(const ConvGeom& g, const float* x, int64_t rowBase) : g_(g), x_(x), rowBase_(rowBase) {}
  void packAll(int64_t k0, int kc, int64_t j0, int64_t nc, int nr, float* dst) const override {
    thread_local std::vector<float> row;
    if (row.size() < static_cast<size_t>(nc)) row.resize(static_cast<size_t>(nc));
    const int64_t panels = (nc + nr - 1) / nr;
    for (int k = 0; k < kc; ++k) {
      im2colRow(g_, x_, rowBase_ + k0 + k, j0, nc, row.data(), 1);
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t cols = std::min<int64_t>(nr, nc - p * nr);
        float* out = dst + p * kc * nr + k * nr;
        std::memcpy(out, row.data() + p * nr, sizeof(float) * cols);
        for (int64_t j = cols; j < nr; ++j) out[j] = 0.f;
      }
    }
  }
  void pack(int64_t k0, int kc, int64_t j0, int cols, int nr, float* dst) const override {
    for (int k = 0; k < kc; ++k) {
      float* out = dst + k * nr;
      im2colRow(g_, x_, rowBase_ + k0 + k, j0, cols, out, 1);
      for (int j = cols; j < nr; ++j) out[j] = 0.f;
    }
  }

 private:
  const ConvGeom& g_;
  const float* x_;
  int64_t rowBase_;
};

/// im2col(x) as the left operand: A(i = output pixel, k = tap * inC + channel), packed into the GEMM's k-major
/// micro-panels. Within one filter tap each row is a slice of one input pixel (or zeros at the border), so for
/// channel counts of 16 and more a depth block is interleaved straight from x, one tap segment at a time; fewer
/// channels assemble the rows in a scratch buffer first (short segments would make the interleave scalar).
class Im2colA final : public ASource {
 public:
  Im2colA(const ConvGeom& g, const float* x) : g_(g), x_(x) {}
  void pack(int64_t i0, int rows, int64_t k0, int kc, float* dst, int mr) const override {
    const float* ptrs[64];
    if (g_.inC >= 16) {
      thread_local std::vector<float> zeros;
      if (zeros.size() < static_cast<size_t>(g_.inC)) zeros.assign(static_cast<size_t>(g_.inC), 0.f);
      int64_t img[64], iy0[64], ix0[64];  // per row: image, and input origin of tap (0, 0)
      int64_t ox = i0 % g_.outW, oy = (i0 / g_.outW) % g_.outH, b = i0 / (g_.outW * g_.outH);
      for (int r = 0; r < rows; ++r) {
        img[r] = b;
        iy0[r] = oy * g_.strideH - g_.padTop;
        ix0[r] = ox * g_.strideW - g_.padLeft;
        if (++ox == g_.outW) {
          ox = 0;
          if (++oy == g_.outH) oy = 0, ++b;
        }
      }
      for (int64_t k = k0; k < k0 + kc;) {
        const int64_t tap = k / g_.inC, ci = k % g_.inC;
        const int len = static_cast<int>(std::min(g_.inC - ci, k0 + kc - k));
        const int64_t dy = tap / g_.fW * g_.dilH, dx = tap % g_.fW * g_.dilW;
        for (int r = 0; r < rows; ++r) {
          const int64_t iy = iy0[r] + dy, ix = ix0[r] + dx;
          const bool inside = iy >= 0 && iy < g_.inH && ix >= 0 && ix < g_.inW;
          ptrs[r] = inside ? x_ + ((img[r] * g_.inH + iy) * g_.inW + ix) * g_.inC + ci : zeros.data();
        }
        packRowsKMajor(ptrs, rows, len, dst + (k - k0) * mr, mr);
        k += len;
      }
      return;
    }
    thread_local std::vector<float> scratch;
    if (scratch.size() < static_cast<size_t>(rows) * kc) scratch.resize(static_cast<size_t>(rows) * kc);
    for (int r = 0; r < rows; ++r) {
      im2colRow(g_, x_, i0 + r, k0, kc, scratch.data() + static_cast<int64_t>(r) * kc, 1);
      ptrs[r] = scratch.data() + static_cast<int64_t>(r) * kc;
    }
    packRowsKMajor(ptrs, rows, kc, dst, mr);
  }

 private:
  const ConvGeom& g_;
  const float* x_;
};

/// Images per chunk so that a chunk's column buffer stays near 32 MB (at least one image).
int64_t imagesPerChunk(const ConvGeom& g) {
  const int64_t perImage = std::max<int64_t>(1, g.outH * g.outW * g.taps());
  return std::max<int64_t>(1, (int64_t{8} << 20) / perImage);
}

/// Axis helper for the gather: the output index o with o*stride - pad + t*dil == i, or -1.
inline int64_t sourceIndex(int64_t i, int64_t t, int64_t stride, int64_t pad, int64_t dil, int64_t outLen) {
  const int64_t v = i + pad - t * dil;
  if (v < 0 || v % stride != 0) return -1;
  const int64_t o = v / stride;
  return o < outLen ? o : -1;
}

DIFFIQA_KERNEL_BODY void addIntoBody(float* acc, const float* src, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] += src[j];
}
DIFFIQA_MULTIVERSION(addInto, (float* acc, const float* src, int64_t n), (acc, src, n))

/// dx rows of images [b0, b1) from their column gradients `cols` ([(b1-b0)*outH*outW, taps]).
void col2imGather(const ConvGeom& g, const float* cols, int64_t b0, int64_t b1, float* dx) {
  const int64_t taps = g.taps();
  pool().parallelFor((b1 - b0) * g.inH, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bl = r / g.inH, iy = r % g.inH;
      float* dxRow = dx + ((b0 + bl) * g.inH + iy) * g.inW * g.inC;
      std::fill(dxRow, dxRow + g.inW * g.inC, 0.f);
      for (int64_t kh = 0; kh < g.fH; ++kh) {
        const int64_t oy = sourceIndex(iy, kh, g.strideH, g.padTop, g.dilH, g.outH);
        if (oy < 0) continue;
        for (int64_t ix = 0; ix < g.inW; ++ix) {
          float* acc = dxRow + ix * g.inC;
          for (int64_t kw = 0; kw < g.fW; ++kw) {
            const int64_t ox = sourceIndex(ix, kw, g.strideW, g.padLeft, g.dilW, g.outW);
            if (ox < 0) continue;
            const float* src = cols + ((bl * g.outH + oy) * g.outW + ox) * taps + (kh * g.fW + kw) * g.inC;
            addInto(acc, src, g.inC);
          }
        }
      }
    }
  });
}

}  // namespace

ConvGeom makeGeom(const int64_t* v, bool depthwise) {
  ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const bool ok = g.batch >= 0 && g.inH >= 0 && g.inW >= 0 && g.inC >= 1 && g.outH >= 0 && g.outW >= 0 &&
                  g.outC >= 1 && g.fH >= 1 && g.fW >= 1 && g.strideH >= 1 && g.strideW >= 1 && g.dilH >= 1 &&
                  g.dilW >= 1 && (!depthwise || g.outC % g.inC == 0);
  if (!ok) throw std::invalid_argument("invalid convolution geometry");
  return g;
}

void conv2dForward(const ConvGeom& g, const float* x, const float* w, float* out) {
  const DenseB b(w, g.outC, false);
  if (g.isPointwise() && !conv2dDirectApplies(g)) {
    sgemm(DenseA(x, g.inC, false), b, g.rows(), g.outC, g.inC, out, g.outC, false);
    return;
  }
  if (conv2dWinogradApplies(g)) {
    conv2dWinograd(g, x, w, nullptr, out);
    return;
  }
  if (conv2dDirectApplies(g)) {
    conv2dDirect(g, x, w, nullptr, out);
    return;
  }
  sgemm(Im2colA(g, x), b, g.rows(), g.outC, g.taps(), out, g.outC, false);
}

void conv2dBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const DenseB wt(w, g.outC, true);  // W^T: [outC, taps]
  if (g.isPointwise()) {
    sgemm(DenseA(dy, g.outC, false), wt, g.rows(), g.inC, g.outC, dx, g.inC, false);
    return;
  }
  if (g.strideH == 1 && g.strideW == 1) {
    // dx[b,iy,ix,ci] = sum dy[b, iy + padTop - kh*dil, ...] * w[kh,kw,ci,co]: with kh' = fH-1-kh this is a forward
    // convolution of dy (padding (fH-1)*dil - padTop) with wf[kh',kw',co,ci] = w[fH-1-kh', fW-1-kw', ci, co].
    // One strided copy: the taps reversed (negative strides), each tap's [inC, outC] matrix transposed in tiles on
    // the pool (element by element, one side strided, this took 9 ms of a 24 ms input gradient at 14x14x512->512).
    std::vector<float> wf(static_cast<size_t>(g.fH * g.fW * g.inC * g.outC));
    const int64_t tap = g.inC * g.outC;
    const int64_t shape[4] = {g.fH, g.fW, g.outC, g.inC};
    const int64_t srcStrides[4] = {-g.fW * tap, -tap, 1, g.outC};
    const int64_t dstStrides[4] = {g.fW * tap, tap, g.inC, 1};
    stridedCopy(reinterpret_cast<const uint32_t*>(w + ((g.fH - 1) * g.fW + (g.fW - 1)) * tap), srcStrides,
                reinterpret_cast<uint32_t*>(wf.data()), dstStrides, shape, 4);
    const ConvGeom t{g.batch, g.outH, g.outW, g.outC, g.inH, g.inW, g.inC, g.fH, g.fW, 1, 1, g.dilH, g.dilW,
                     (g.fH - 1) * g.dilH - g.padTop, (g.fW - 1) * g.dilW - g.padLeft};
    conv2dForward(t, dy, wf.data(), dx);
    return;
  }
  const int64_t per = imagesPerChunk(g), pixels = g.outH * g.outW, taps = g.taps();
  std::vector<float> cols(static_cast<size_t>(std::min(per, g.batch) * pixels * taps));
  for (int64_t b0 = 0; b0 < g.batch; b0 += per) {
    const int64_t b1 = std::min(g.batch, b0 + per);
    sgemm(DenseA(dy + b0 * pixels * g.outC, g.outC, false), wt, (b1 - b0) * pixels, taps, g.outC, cols.data(),
          taps, false);
    col2imGather(g, cols.data(), b0, b1, dx);
  }
}

void conv2dBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t taps = g.taps();
  if (g.rows() == 0) {
    std::fill(dw, dw + taps * g.outC, 0.f);
    return;
  }
  if (g.isPointwise()) {
    sgemm(DenseA(x, g.inC, true), DenseB(dy, g.outC, false), g.inC, g.outC, g.rows(), dw, g.outC, false);
    return;
  }
  if (conv2dBackpropFilterDirectApplies(g)) {
    conv2dBackpropFilterDirect(g, x, dy, dw);
    return;
  }
  // dW^T [outC, taps] = dY^T * im2col(x). The reduction dimension (output pixels) is split into fixed ranges, each
  // a serial GEMM into its own partial, summed in range order (orderedReduce): one parallel region instead of two
  // per depth block, which matters on shared cores, and a result that does not depend on thread timing. A filter
  // too large for several partials runs one GEMM parallel over its outputs instead (also schedule-independent).
  // So does one with few output pixels: under ~1,024 rows a range's GEMM is too shallow to pay for its partial
  // (measured at 14x14x512->512, batch 8: 1.75x faster as one GEMM on AVX-512, 1.36x on AVX2; at 28x28, 6,272 rows,
  // the ranges win by 1.1-1.2x).
  const int64_t len = g.outC * taps;
  std::vector<float> dwT(static_cast<size_t>(len));
  const int64_t ranges = reduceRanges(g.rows() / 1024, len);
  if (ranges < 2) {
    sgemm(DenseA(dy, g.outC, true), Im2colB(g, x, 0), g.outC, taps, g.rows(), dwT.data(), taps, false);
  } else {
    orderedReduce(g.rows(), ranges, len, [&](int64_t r0, int64_t r1, float* acc) {
      sgemm(DenseA(dy + r0 * g.outC, g.outC, true), Im2colB(g, x, r0), g.outC, taps, r1 - r0, acc, taps, true, false);
    }, dwT.data());
  }
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t co = 0; co < g.outC; ++co) dw[t * g.outC + co] = dwT[static_cast<size_t>(co * taps + t)];
}

void fusedConv2d(const ConvGeom& g, const float* x, const ChannelPair* pair, const float* w, float* out, const Epilogue& e) {
  const bool directAct = e.act == Activation::Linear || e.act == Activation::Prelu;
  const bool winograd = conv2dWinogradApplies(g);
  // Winograd reads a pair's parts 16 channels at a time; other pairs take the path the whole input would.
  const bool pairFits = pair == nullptr || !winograd || (pair->ca % 16 == 0 && pair->cb % 16 == 0);
  if (pairFits && (winograd || conv2dDirectApplies(g)) && directAct && (e.bias == nullptr || e.biasLen == g.outC)) {
    // Bias and PReLU (one alpha per channel) inside the kernel: the direct kernel's accumulators start at the
    // bias and PReLU runs in registers; Winograd applies both in its output transform.
    std::vector<float> alpha;
    if (e.act == Activation::Prelu) alpha.assign(static_cast<size_t>(g.outC), e.alpha[0]);
    if (e.act == Activation::Prelu && e.alphaLen != 1) std::copy(e.alpha, e.alpha + g.outC, alpha.begin());
    const float* a = alpha.empty() ? nullptr : alpha.data();
    if (winograd) conv2dWinograd(g, x, w, e.bias, out, a, pair);
    else conv2dDirect(g, x, w, e.bias, out, a, pair);
    return;
  }
  if (pair != nullptr) {
    // The GEMM path reads a whole input: assemble the concatenation (what the separate Concat would have stored).
    const int64_t pixels = g.batch * g.inH * g.inW;
    std::vector<float> joined(static_cast<size_t>(g.inSize()));
    const uint32_t* ins[2] = {reinterpret_cast<const uint32_t*>(pair->a), reinterpret_cast<const uint32_t*>(pair->b)};
    const int64_t widths[2] = {pair->ca, pair->cb};
    concatRows(ins, widths, 2, reinterpret_cast<uint32_t*>(joined.data()), pixels);
    return fusedConv2d(g, joined.data(), nullptr, w, out, e);
  }
  conv2dForward(g, x, w, out);
  applyEpilogue(e, out, g.rows(), g.outC);
}


}  // namespace diffiqa
