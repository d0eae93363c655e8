// GroupNorm in two streaming passes per direction. Statistics are per-channel sums in double over pixel chunks
// (contiguous channel vectors in NHWC), folded into groups afterwards; each element pass is then a per-(b,c)
// affine map, so every pass is a parallel, vectorisable sweep over memory.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "fast_math.h"
#include "group_norm.h"
#include "isa.h"
#include "row_sums.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

struct Chunking {
  int64_t perBatch, size;
};

Chunking chunkPixels(const GroupNormGeom& g) {
  const int64_t want = std::max<int64_t>(1, 8 * pool().size() / std::max<int64_t>(1, g.batch));
  const int64_t size = std::max<int64_t>(16, (g.pixels + want - 1) / want);
  return {std::max<int64_t>(1, (g.pixels + size - 1) / size), size};
}

/// sums[c] += sum x, sums[C + c] += sum x^2 over `n` NHWC pixel rows of C channels (row_sums.h).
DIFFIQA_KERNEL_BODY void statsRowsBody(const float* x, int64_t n, int64_t C, double* sums) {
  rowSums<2>(n, C, sums, [x](int64_t i, double* s, int64_t stride) {
    const double v = x[i];
    s[0] += v;
    s[stride] += v * v;
  });
}
DIFFIQA_MULTIVERSION(statsRows, (const float* x, int64_t n, int64_t C, double* sums), (x, n, C, sums))

/// sums[c] += sum dy, sums[C + c] += sum dy * x over `n` pixel rows.
DIFFIQA_KERNEL_BODY void gradStatsRowsBody(const float* dy, const float* x, int64_t n, int64_t C, double* sums) {
  rowSums<2>(n, C, sums, [dy, x](int64_t i, double* s, int64_t stride) {
    s[0] += dy[i];
    s[stride] += static_cast<double>(dy[i]) * x[i];
  });
}
DIFFIQA_MULTIVERSION(gradStatsRows, (const float* dy, const float* x, int64_t n, int64_t C, double* sums), (dy, x, n, C, sums))

/// sums[b][c] (and sums2) = sum over pixels of f(x) and g(x) per channel, accumulated in double: row(b, p, n, sums)
/// adds n pixels from p of image b into sums ([2][C]: the f sums, then the g sums).
template <typename Row>
void channelSums(const GroupNormGeom& g, std::vector<double>& s1, std::vector<double>& s2, Row row) {
  const Chunking ch = chunkPixels(g);
  const int64_t C = g.channels;
  std::vector<double> part(static_cast<size_t>(g.batch * ch.perBatch * 2 * C), 0.0);
  pool().run(g.batch * ch.perBatch, [&](int64_t t, int) {
    const int64_t b = t / ch.perBatch, p0 = (t % ch.perBatch) * ch.size;
    const int64_t p1 = std::min(g.pixels, p0 + ch.size);
    double* a = part.data() + t * 2 * C;
    if (p1 > p0) row(b, p0, p1 - p0, a);
  });
  s1.assign(static_cast<size_t>(g.batch * C), 0.0);
  s2.assign(static_cast<size_t>(g.batch * C), 0.0);
  for (int64_t t = 0; t < g.batch * ch.perBatch; ++t) {
    const int64_t b = t / ch.perBatch;
    const double* a = part.data() + t * 2 * C;
    for (int64_t c = 0; c < C; ++c) {
      s1[b * C + c] += a[c];
      s2[b * C + c] += a[C + c];
    }
  }
}

/// out = x * scale[b,c] + shift[b,c] (+ dy * dyScale[b,c] when dy is given).
DIFFIQA_KERNEL_BODY void affineRowBody(float* out, const float* x, const float* scale, const float* shift, int64_t n) {
  for (int64_t c = 0; c < n; ++c) out[c] = x[c] * scale[c] + shift[c];
}
DIFFIQA_MULTIVERSION(affineRow, (float* out, const float* x, const float* scale, const float* shift, int64_t n), (out, x, scale, shift, n))

/// rows x C: y = silu(x * scale[c] + shift[c]), plus res (rows x C) when given: the residual add of a ResNet block in
/// the same sweep (a float add of the two floats, so the bits of a separate Add). With the channel count a
/// compile-time CC the row loop is straight-line code over a few vectors whose scale, shift and constants stay in
/// registers; a runtime C of 16 had re-loaded them for every row of one vector (at 112 px, 2.1 ms a call).
template <int CC>
__attribute__((always_inline)) inline void affineSiluRowsT(float* y, const float* x, const float* scale, const float* shift, const float* res, int64_t rows, int64_t Cr) {
  const int64_t C = CC > 0 ? CC : Cr;
  if (res == nullptr) {
    for (int64_t r = 0; r < rows; ++r, x += C, y += C)
      for (int64_t c = 0; c < C; ++c) {
        const float z = x[c] * scale[c] + shift[c];
        y[c] = z / (1.f + fastExp(-z));
      }
    return;
  }
  for (int64_t r = 0; r < rows; ++r, x += C, y += C, res += C)
    for (int64_t c = 0; c < C; ++c) {
      const float z = x[c] * scale[c] + shift[c];
      y[c] = z / (1.f + fastExp(-z)) + res[c];
    }
}

DIFFIQA_KERNEL_BODY void affineSiluRowsBody(float* y, const float* x, const float* scale, const float* shift, const float* res, int64_t rows, int64_t C) {
  switch (C) {
    case 16: return affineSiluRowsT<16>(y, x, scale, shift, res, rows, C);
    case 32: return affineSiluRowsT<32>(y, x, scale, shift, res, rows, C);
    case 64: return affineSiluRowsT<64>(y, x, scale, shift, res, rows, C);
    default: return affineSiluRowsT<0>(y, x, scale, shift, res, rows, C);
  }
}
DIFFIQA_MULTIVERSION(affineSiluRows, (float* y, const float* x, const float* scale, const float* shift, const float* res, int64_t rows, int64_t C), (y, x, scale, shift, res, rows, C))

DIFFIQA_KERNEL_BODY void affineRow2Body(float* out, const float* x, const float* dy, const float* scale, const float* dyScale, const float* shift, int64_t n) {
  for (int64_t c = 0; c < n; ++c) out[c] = x[c] * scale[c] + dy[c] * dyScale[c] + shift[c];
}
DIFFIQA_MULTIVERSION(affineRow2, (float* out, const float* x, const float* dy, const float* scale, const float* dyScale, const float* shift, int64_t n), (out, x, dy, scale, dyScale, shift, n))

void checkGeom(const GroupNormGeom& g) {
  if (g.batch < 0 || g.pixels < 0 || g.channels < 1 || g.groups < 1 || g.channels % g.groups != 0 || !(g.eps >= 0))
    throw std::invalid_argument("invalid GroupNorm geometry (channels must divide into groups)");
}

}  // namespace

void groupNormForward(const GroupNormGeom& g, const float* x, const float* gamma, const float* beta, float* y,
                      float* mean, float* rstd, const float* filmScale, const float* filmShift, bool silu,
                      const float* residual) {
  checkGeom(g);
  if (residual != nullptr && !silu) throw std::invalid_argument("groupNormForward: a residual needs silu");
  const int64_t C = g.channels, G = g.groups, cg = C / G;
  std::vector<double> s1, s2;
  channelSums(g, s1, s2, [&](int64_t b, int64_t p, int64_t n, double* sums) {
    statsRows(x + (b * g.pixels + p) * C, n, C, sums);
  });
  std::vector<float> scale(static_cast<size_t>(g.batch * C)), shift(static_cast<size_t>(g.batch * C));
  const double n = static_cast<double>(g.pixels * cg);
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t gi = 0; gi < G; ++gi) {
      double sum = 0, sq = 0;
      for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
        sum += s1[b * C + c];
        sq += s2[b * C + c];
      }
      const double mu = n > 0 ? sum / n : 0.0;
      const double var = n > 0 ? std::max(0.0, sq / n - mu * mu) : 0.0;
      const double rs = 1.0 / std::sqrt(var + g.eps);
      mean[b * G + gi] = static_cast<float>(mu);
      rstd[b * G + gi] = static_cast<float>(rs);
      for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
        double a = rs * gamma[c], sh = beta[c] - mu * rs * gamma[c];
        if (filmScale != nullptr) {
          const double f = 1.0 + static_cast<double>(filmScale[b * C + c]);
          a *= f;
          sh = sh * f + (filmShift != nullptr ? filmShift[b * C + c] : 0.f);
        }
        scale[b * C + c] = static_cast<float>(a);
        shift[b * C + c] = static_cast<float>(sh);
      }
    }
  }
  const int64_t P = std::max<int64_t>(1, g.pixels);
  pool().parallelFor(g.batch * g.pixels, [&](int64_t r0, int64_t r1, int) {
    // Runs of rows within one sample share scale/shift: one vectorised call per run.
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / P, end = std::min(r1, (b + 1) * P);
      if (silu) {
        affineSiluRows(y + r * C, x + r * C, scale.data() + b * C, shift.data() + b * C,
                       residual != nullptr ? residual + r * C : nullptr, end - r, C);
      } else {
        for (int64_t q = r; q < end; ++q) affineRow(y + q * C, x + q * C, scale.data() + b * C, shift.data() + b * C, C);
      }
      r = end;
    }
  }, 4, 64);
}

void groupNormBackward(const GroupNormGeom& g, const float* dy, const float* x, const float* gamma,
                       const float* mean, const float* rstd, float* dx, float* dgamma, float* dbeta) {
  checkGeom(g);
  const int64_t C = g.channels, G = g.groups, cg = C / G;
  // s1[b,c] = sum dy, s2[b,c] = sum dy * x.
  std::vector<double> s1, s2;
  channelSums(g, s1, s2, [&](int64_t b, int64_t p, int64_t n, double* sums) {
    gradStatsRows(dy + (b * g.pixels + p) * C, x + (b * g.pixels + p) * C, n, C, sums);
  });
  std::vector<double> dg(C, 0.0), db(C, 0.0);
  std::vector<float> xs(static_cast<size_t>(g.batch * C)), ds(static_cast<size_t>(g.batch * C)),
      sh(static_cast<size_t>(g.batch * C));
  const double n = static_cast<double>(g.pixels * cg);
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t gi = 0; gi < G; ++gi) {
      const double mu = mean[b * G + gi], rs = rstd[b * G + gi];
      // With xhat = (x - mu) * rs and dxhat = dy * gamma:
      // m1 = mean(dxhat), m2 = mean(dxhat * xhat) over the group; dx = rs * (dxhat - m1 - xhat * m2).
      double sumD = 0, sumDX = 0;
      for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
        const double a = s1[b * C + c], bx = s2[b * C + c];
        const double dyXhat = rs * (bx - mu * a);
        dg[c] += dyXhat;
        db[c] += a;
        sumD += gamma[c] * a;
        sumDX += gamma[c] * dyXhat;
      }
      const double m1 = n > 0 ? sumD / n : 0.0, m2 = n > 0 ? sumDX / n : 0.0;
      for (int64_t c = gi * cg; c < (gi + 1) * cg; ++c) {
        ds[b * C + c] = static_cast<float>(rs * gamma[c]);
        xs[b * C + c] = static_cast<float>(-rs * rs * m2);
        sh[b * C + c] = static_cast<float>(-rs * m1 + rs * rs * m2 * mu);
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    dgamma[c] = static_cast<float>(dg[c]);
    dbeta[c] = static_cast<float>(db[c]);
  }
  pool().parallelFor(g.batch * g.pixels, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / std::max<int64_t>(1, g.pixels);
      affineRow2(dx + r * C, x + r * C, dy + r * C, xs.data() + b * C, ds.data() + b * C, sh.data() + b * C, C);
    }
  }, 4, 64);
}

}  // namespace diffiqa
