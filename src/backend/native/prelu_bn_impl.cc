// Flat element ranges are the parallel tasks; the per-channel parameters are indexed modulo their lengths, which
// for channel vectors along the last axis (and scalars) is exactly tfjs's broadcast.
#include <algorithm>
#include <cmath>
#include <vector>

#include "isa.h"
#include "prelu_bn.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

constexpr int64_t kMinChunk = 16384;

/// One row of C channels: out = x < 0 ? alpha * x : x.
DIFFIQA_KERNEL_BODY void preluRowBody(const float* x, const float* alpha, float* out, int64_t c) {
  for (int64_t j = 0; j < c; ++j) out[j] = x[j] < 0.f ? alpha[j] * x[j] : x[j];
}
DIFFIQA_MULTIVERSION(preluRow, (const float* x, const float* alpha, float* out, int64_t c), (x, alpha, out, c))

/// One row of the gradient: dx = x > 0 ? dy : alpha * dy; acc += x > 0 ? 0 : dy * x (tfjs's mask is x > 0).
DIFFIQA_KERNEL_BODY void preluGradRowBody(const float* x, const float* dy, const float* alpha, float* dx, float* acc, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    const bool pos = x[j] > 0.f;
    dx[j] = pos ? dy[j] : dy[j] * alpha[j];
    acc[j] += pos ? 0.f : dy[j] * x[j];
  }
}
DIFFIQA_MULTIVERSION(preluGradRow, (const float* x, const float* dy, const float* alpha, float* dx, float* acc, int64_t c), (x, dy, alpha, dx, acc, c))

}  // namespace

void preluChannels(const float* x, const float* alpha, int64_t alphaLen, float* out, int64_t n) {
  if (alphaLen > 1 && n % alphaLen == 0) {
    // Rows of alphaLen channels: the per-channel weights line up with the row, so the loop vectorises.
    const int64_t rows = n / alphaLen;
    pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) preluRow(x + r * alphaLen, alpha, out + r * alphaLen, alphaLen);
    }, 4, std::max<int64_t>(1, kMinChunk / alphaLen));
    return;
  }
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    int64_t c = i0 % alphaLen;
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      out[i] = v < 0 ? alpha[c] * v : v;
      if (++c == alphaLen) c = 0;
    }
  }, 4, kMinChunk);
}

void preluGrad(const float* x, const float* dy, const float* alpha, int64_t alphaLen, float* dx, float* dalpha,
               int64_t n) {
  // A single weight is the 1-channel case with its (broadcast) weight repeated across a row of 64.
  const int64_t c = alphaLen > 1 ? alphaLen : std::min<int64_t>(64, std::max<int64_t>(1, n));
  std::vector<float> alphaRow(static_cast<size_t>(c), alpha[0]);
  if (alphaLen > 1) std::copy(alpha, alpha + c, alphaRow.begin());
  const int64_t rows = n / c, tail = n - rows * c;
  // Sums in double per fixed row range, added in range order (orderedReduce: independent of thread timing); a
  // range's rows are summed in float first, 64 at a time, as short runs.
  std::vector<double> total(static_cast<size_t>(c), 0.0);
  orderedReduce(rows, reduceRanges(rows, 2 * c), c, [&](int64_t r0, int64_t r1, double* part) {
    std::vector<float> acc(static_cast<size_t>(c));
    for (int64_t b0 = r0; b0 < r1; b0 += 64) {
      std::fill(acc.begin(), acc.end(), 0.f);
      const int64_t b1 = std::min(r1, b0 + 64);
      for (int64_t r = b0; r < b1; ++r) preluGradRow(x + r * c, dy + r * c, alphaRow.data(), dx + r * c, acc.data(), c);
      for (int64_t j = 0; j < c; ++j) part[j] += acc[static_cast<size_t>(j)];
    }
  }, total.data());
  for (int64_t i = rows * c; i < rows * c + tail; ++i) {  // only with one weight: a partial last row
    const bool pos = x[i] > 0.f;
    dx[i] = pos ? dy[i] : dy[i] * alpha[0];
    total[0] += pos ? 0.0 : static_cast<double>(dy[i] * x[i]);
  }
  if (alphaLen > 1) {
    for (int64_t j = 0; j < c; ++j) dalpha[j] = static_cast<float>(total[static_cast<size_t>(j)]);
  } else {
    double s = 0.0;
    for (int64_t j = 0; j < c; ++j) s += total[static_cast<size_t>(j)];
    dalpha[0] = static_cast<float>(s);
  }
}

void greaterThan(const float* a, const float* b, int64_t bStride, uint8_t* out, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    if (bStride == 0) {
      const float y = b[0];
      for (int64_t i = i0; i < i1; ++i) out[i] = a[i] > y ? 1 : 0;
    } else {
      for (int64_t i = i0; i < i1; ++i) out[i] = a[i] > b[i] ? 1 : 0;
    }
  }, 4, kMinChunk);
}

void selectWords(const uint8_t* cond, const uint32_t* t, const uint32_t* e, uint32_t* out, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    // Branch-free (a mask blend) so that a random condition costs no mispredictions and the loop vectorises.
    for (int64_t i = i0; i < i1; ++i) {
      const uint32_t m = 0u - static_cast<uint32_t>(cond[i] == 1);
      out[i] = (t[i] & m) | (e[i] & ~m);
    }
  }, 4, kMinChunk);
}

namespace {

/// One row of C channels of batchNormWrap's formula with per-channel double parameters. Double division is
/// correctly rounded in vector registers as in scalar ones, so the vectorised row gives the same bits.
DIFFIQA_KERNEL_BODY void batchNormRowBody(const float* x, const double* mean, const double* scale, const double* offset, const double* denom, float* out, int64_t c) {
  for (int64_t j = 0; j < c; ++j) out[j] = static_cast<float>(offset[j] + (static_cast<double>(x[j]) - mean[j]) * scale[j] / denom[j]);
}
DIFFIQA_MULTIVERSION(batchNormRow, (const float* x, const double* mean, const double* scale, const double* offset, const double* denom, float* out, int64_t c), (x, mean, scale, offset, denom, out, c))

}  // namespace

void batchNormWrap(const float* x, int64_t n, const float* mean, int64_t lm, const float* variance, int64_t lv,
                   const float* scale, int64_t ls, const float* offset, int64_t lo, double eps, float* out) {
  if (!scale) ls = 1;
  if (!offset) lo = 1;
  // sqrt(variance + eps) is the same double for every element of a channel, so it is computed once per entry;
  // the rest follows tfjs's order (offset + ((x - mean) * scale) / denom) with running, wrapping indices.
  std::vector<double> denom(static_cast<size_t>(lv));
  for (int64_t i = 0; i < lv; ++i) denom[i] = std::sqrt(static_cast<double>(variance[i]) + eps);
  const int64_t c = lm;
  if (c > 1 && lv == c && (!scale || ls == c) && (!offset || lo == c) && n % c == 0) {
    // The usual case, one parameter per channel of the last axis: rows of C channels, no index wrapping, the
    // parameters widened to double once (a null scale is 1 and a null offset 0, as below: the same bits).
    std::vector<double> md(mean, mean + c), sd(c, 1.0), od(c, 0.0);
    if (scale) sd.assign(scale, scale + c);
    if (offset) od.assign(offset, offset + c);
    pool().parallelFor(n / c, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) batchNormRow(x + r * c, md.data(), sd.data(), od.data(), denom.data(), out + r * c, c);
    }, 4, std::max<int64_t>(1, kMinChunk / c));
    return;
  }
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    int64_t im = i0 % lm, iv = i0 % lv, is = i0 % ls, io = i0 % lo;
    for (int64_t i = i0; i < i1; ++i) {
      const double s = scale ? static_cast<double>(scale[is]) : 1.0;
      const double o = offset ? static_cast<double>(offset[io]) : 0.0;
      const double centred = static_cast<double>(x[i]) - static_cast<double>(mean[im]);
      out[i] = static_cast<float>(o + centred * s / denom[iv]);
      if (++im == lm) im = 0;
      if (++iv == lv) iv = 0;
      if (++is == ls) is = 0;
      if (++io == lo) io = 0;
    }
  }, 4, kMinChunk);
}

}  // namespace diffiqa
