// Flat element ranges are the parallel tasks; the per-channel parameters are indexed modulo their lengths, which
// for channel vectors along the last axis (and scalars) is exactly tfjs's broadcast.
#include <algorithm>
#include <cmath>
#include <vector>

#include "prelu_bn.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {
constexpr int64_t kMinChunk = 16384;
}  // namespace

void preluChannels(const float* x, const float* alpha, int64_t alphaLen, float* out, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    int64_t c = i0 % alphaLen;
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      out[i] = v < 0 ? alpha[c] * v : v;
      if (++c == alphaLen) c = 0;
    }
  }, 4, kMinChunk);
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

void batchNormWrap(const float* x, int64_t n, const float* mean, int64_t lm, const float* variance, int64_t lv,
                   const float* scale, int64_t ls, const float* offset, int64_t lo, double eps, float* out) {
  if (!scale) ls = 1;
  if (!offset) lo = 1;
  // sqrt(variance + eps) is the same double for every element of a channel, so it is computed once per entry;
  // the rest follows tfjs's order (offset + ((x - mean) * scale) / denom) with running, wrapping indices.
  std::vector<double> denom(static_cast<size_t>(lv));
  for (int64_t i = 0; i < lv; ++i) denom[i] = std::sqrt(static_cast<double>(variance[i]) + eps);
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
