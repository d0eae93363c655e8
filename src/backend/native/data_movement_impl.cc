// Strided copy: size-1 dimensions are dropped and adjacent dimensions that both sides traverse uniformly are merged,
// then the copy runs as (a) contiguous rows (memcpy), (b) tiled 2-D transposes when the destination's innermost
// dimension is strided in the source but another dimension is contiguous there (attention's head transposes), or
// (c) a generic strided inner loop (reverse, broadcast). Outer rows are split across the shared thread pool.
#include <algorithm>
#include <cstring>

#include "data_movement.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

constexpr int64_t kMinWordsPerTask = 16384;  // a thread hand-off costs about as much as copying this much
constexpr int64_t kTile = 32;

struct Plan {
  int rank = 0;
  int64_t shape[kMaxCopyRank];
  int64_t src[kMaxCopyRank];
  int64_t dst[kMaxCopyRank];
};

Plan collapse(const int64_t* shape, const int64_t* ss, const int64_t* ds, int rank) {
  Plan p;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    const int last = p.rank - 1;
    if (last >= 0 && p.src[last] == ss[d] * shape[d] && p.dst[last] == ds[d] * shape[d]) {
      p.shape[last] *= shape[d];
      p.src[last] = ss[d];
      p.dst[last] = ds[d];
    } else {
      p.shape[p.rank] = shape[d];
      p.src[p.rank] = ss[d];
      p.dst[p.rank] = ds[d];
      ++p.rank;
    }
  }
  if (p.rank == 0) {
    p.rank = 1;
    p.shape[0] = 1;
    p.src[0] = 1;
    p.dst[0] = 1;
  }
  return p;
}

/// Visits the `rows` index tuples of dims [0, outerRank) of `p` in order, skipping dimension `skip` (-1: none),
/// from flat row r0 to r1, calling fn(srcOffset, dstOffset).
template <typename Fn>
void forRows(const Plan& p, int outerRank, int skip, int64_t r0, int64_t r1, Fn fn) {
  int64_t idx[kMaxCopyRank] = {0};
  int64_t so = 0, dof = 0, rest = r0;
  for (int d = outerRank - 1; d >= 0; --d) {
    if (d == skip) continue;
    idx[d] = rest % p.shape[d];
    rest /= p.shape[d];
    so += idx[d] * p.src[d];
    dof += idx[d] * p.dst[d];
  }
  for (int64_t r = r0; r < r1; ++r) {
    fn(so, dof);
    for (int d = outerRank - 1; d >= 0; --d) {  // odometer increment
      if (d == skip) continue;
      so += p.src[d];
      dof += p.dst[d];
      if (++idx[d] < p.shape[d]) break;
      so -= idx[d] * p.src[d];
      dof -= idx[d] * p.dst[d];
      idx[d] = 0;
    }
  }
}

void copyRows(const uint32_t* src, uint32_t* dst, const Plan& p) {
  const int inner = p.rank - 1;
  const int64_t n = p.shape[inner];
  int64_t rows = 1;
  for (int d = 0; d < inner; ++d) rows *= p.shape[d];
  // Long rows are cut into blocks so that a single large row still spreads over the threads.
  const int64_t blocks = std::max<int64_t>(1, n / (4 * kMinWordsPerTask));
  const int64_t blockLen = (n + blocks - 1) / blocks;
  const int64_t perTask = std::max<int64_t>(1, kMinWordsPerTask / std::max<int64_t>(1, std::min(n, blockLen)));
  pool().parallelFor(rows * blocks, [&](int64_t t0, int64_t t1, int) {
    if (blocks == 1) {
      forRows(p, inner, -1, t0, t1, [&](int64_t so, int64_t dof) { copyElems(dst + dof, src + so, n); });
      return;
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t row = t / blocks, b0 = (t % blocks) * blockLen, b1 = std::min(n, b0 + blockLen);
      forRows(p, inner, -1, row, row + 1, [&](int64_t so, int64_t dof) {
        std::memcpy(dst + dof + b0, src + so + b0, static_cast<size_t>(b1 - b0) * sizeof(uint32_t));
      });
    }
  }, 4, perTask);
}

/// dst's innermost dimension is contiguous in dst, dimension `j` is contiguous in src: 32x32 tiles keep both the
/// reads and the writes within a few cache lines.
void copyTransposed(const uint32_t* src, uint32_t* dst, const Plan& p, int j) {
  const int inner = p.rank - 1;
  const int64_t na = p.shape[j], nb = p.shape[inner], sb = p.src[inner], da = p.dst[j];
  int64_t rows = 1;
  for (int d = 0; d < inner; ++d)
    if (d != j) rows *= p.shape[d];
  const int64_t perTask = std::max<int64_t>(1, kMinWordsPerTask / std::max<int64_t>(1, na * nb));
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    forRows(p, inner, j, r0, r1, [&](int64_t so, int64_t dof) {
      const uint32_t* s = src + so;
      uint32_t* o = dst + dof;
      for (int64_t a0 = 0; a0 < na; a0 += kTile) {
        const int64_t a1 = std::min(na, a0 + kTile);
        for (int64_t b0 = 0; b0 < nb; b0 += kTile) {
          const int64_t b1 = std::min(nb, b0 + kTile);
          for (int64_t a = a0; a < a1; ++a)
            for (int64_t b = b0; b < b1; ++b) o[a * da + b] = s[a + b * sb];
        }
      }
    });
  }, 4, perTask);
}

void copyGeneric(const uint32_t* src, uint32_t* dst, const Plan& p) {
  const int inner = p.rank - 1;
  const int64_t n = p.shape[inner], ss = p.src[inner], ds = p.dst[inner];
  int64_t rows = 1;
  for (int d = 0; d < inner; ++d) rows *= p.shape[d];
  const int64_t perTask = std::max<int64_t>(1, kMinWordsPerTask / std::max<int64_t>(1, n));
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    forRows(p, inner, -1, r0, r1, [&](int64_t so, int64_t dof) {
      const uint32_t* s = src + so;
      uint32_t* o = dst + dof;
      if (ds == 1 && ss == 0) {
        std::fill(o, o + n, s[0]);
      } else if (ds == 1 && ss == -1) {
        for (int64_t k = 0; k < n; ++k) o[k] = s[-k];
      } else {
        for (int64_t k = 0; k < n; ++k) o[k * ds] = s[k * ss];
      }
    });
  }, 4, perTask);
}

}  // namespace

void stridedExtent(const int64_t* shape, const int64_t* strides, int rank, int64_t* lo, int64_t* hi) {
  *lo = 0;
  *hi = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0) {
      *lo = *hi = 0;
      return;
    }
    const int64_t span = (shape[d] - 1) * strides[d];
    if (span < 0) *lo += span; else *hi += span;
  }
}

void stridedCopy(const uint32_t* src, const int64_t* srcStrides, uint32_t* dst, const int64_t* dstStrides,
                 const int64_t* shape, int rank) {
  for (int d = 0; d < rank; ++d)
    if (shape[d] == 0) return;
  const Plan p = collapse(shape, srcStrides, dstStrides, rank);
  const int inner = p.rank - 1;
  if (p.src[inner] == 1 && p.dst[inner] == 1) return copyRows(src, dst, p);
  if (p.dst[inner] == 1) {
    for (int d = inner - 1; d >= 0; --d)
      if (p.src[d] == 1) return copyTransposed(src, dst, p, d);
  }
  copyGeneric(src, dst, p);
}

void concatRows(const uint32_t* const* ins, const int64_t* widths, int count, uint32_t* out, int64_t rows) {
  int64_t W = 0;
  bool ofFour = true;
  for (int i = 0; i < count; ++i) {
    W += widths[i];
    ofFour = ofFour && widths[i] % 4 == 0;
  }
  const bool stream = streamable(out, rows * W * static_cast<int64_t>(sizeof(uint32_t)), ofFour);
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      uint32_t* o = out + r * W;
      for (int i = 0; i < count; ++i) {
        if (stream) streamElems(o, ins[i] + r * widths[i], widths[i]);
        else copyElems(o, ins[i] + r * widths[i], widths[i]);
        o += widths[i];
      }
    }
    if (stream) streamFence();
  }, 4, std::max<int64_t>(1, kMinWordsPerTask / std::max<int64_t>(1, W)));
}

}  // namespace diffiqa
