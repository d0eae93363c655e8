// Big products run one after another with a parallel GEMM; many small ones run one per task with serial GEMMs.
// Products with only a few rows (a fully connected layer at batch 1-8) skip the GEMM's packing: packing B costs a
// read and a write of all of B for one use of each element, so they stream B once instead (smallM below).
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "gemm.h"
#include "isa.h"
#include "matmul.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

// At most this many rows take the streaming path (measured: bench/kernels.ts case (f) and wider shapes).
constexpr int64_t kSmallM = 16;
constexpr int kTile = 32;  // output columns per register tile

/// c[r, j] (=|+=) sum_{q < kc} a[r, q] bt[q, j] for r < M, j < cols <= kTile: bt is the depth block of B as kc rows
/// of stride ldb. One multiply-add chain per element over q in order, then one add to c, as the GEMM micro-kernels
/// do (gemm.h: gemmDepthBlock), so a row's result is the same as in a larger batch, bit for bit.
template <int M>
DIFFIQA_KERNEL_BODY void tileBody(const float* a, int64_t lda, int kc, const float* bt, int64_t ldb, int cols, bool add,
                                  float* c, int64_t ldc) {
  float acc[M][kTile] = {};
  for (int q = 0; q < kc; ++q) {
    const float* br = bt + q * ldb;
    for (int r = 0; r < M; ++r) {
      const float av = a[r * lda + q];
      for (int j = 0; j < kTile; ++j) acc[r][j] += av * br[j];
    }
  }
  for (int r = 0; r < M; ++r) {
    float* row = c + r * ldc;
    for (int j = 0; j < cols; ++j) row[j] = add ? row[j] + acc[r][j] : acc[r][j];
  }
}
DIFFIQA_MULTIVERSION_TEMPLATE(int M, M, tile, (const float* a, int64_t lda, int kc, const float* bt, int64_t ldb, int cols, bool add, float* c, int64_t ldc), (a, lda, kc, bt, ldb, cols, add, c, ldc))

/// C[m, n] = A B for m <= kSmallM without the GEMM's packing: B is read once, in column tiles of kTile (one tile
/// and depth block per step; a transposed B, or a last tile narrower than kTile, is first copied into a kc x kTile
/// block, which stays in L1). A is first copied to contiguous rows (m x k floats, small).
void smallM(const float* a, bool transA, const float* b, bool transB, int64_t m, int64_t n, int64_t k, float* c) {
  std::vector<float> rows;
  if (transA) {
    rows.resize(static_cast<size_t>(m * k));
    for (int64_t q = 0; q < k; ++q)
      for (int64_t r = 0; r < m; ++r) rows[r * k + q] = a[q * m + r];
    a = rows.data();
  }
  const int kc0 = gemmDepthBlock(k);
  const int64_t tiles = (n + kTile - 1) / kTile;
  pool().parallelFor(tiles, [&](int64_t t0, int64_t t1, int) {
    std::vector<float> block(static_cast<size_t>(kc0) * kTile, 0.f);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t j0 = t * kTile;
      const int cols = static_cast<int>(std::min<int64_t>(kTile, n - j0));
      for (int64_t pc = 0; pc < k; pc += kc0) {
        const int kc = static_cast<int>(std::min<int64_t>(kc0, k - pc));
        const float* bt = b + pc * n + j0;
        int64_t ldb = n;
        if (transB || cols < kTile) {
          // Row by row of the source (contiguous reads); the columns past `cols` stay zero.
          if (cols < kTile) std::fill(block.begin(), block.end(), 0.f);
          if (transB) {
            for (int j = 0; j < cols; ++j) {
              const float* src = b + (j0 + j) * k + pc;
              for (int q = 0; q < kc; ++q) block[q * kTile + j] = src[q];
            }
          } else {
            for (int q = 0; q < kc; ++q) {
              const float* src = b + (pc + q) * n + j0;
              std::copy(src, src + cols, &block[q * kTile]);
            }
          }
          bt = block.data();
          ldb = kTile;
        }
        for (int64_t r0 = 0; r0 < m; r0 += 4) {
          const float* ar = a + r0 * k + pc;
          float* cr = c + r0 * n + j0;
          switch (std::min<int64_t>(4, m - r0)) {
            case 1: tile<1>(ar, k, kc, bt, ldb, cols, pc > 0, cr, n); break;
            case 2: tile<2>(ar, k, kc, bt, ldb, cols, pc > 0, cr, n); break;
            case 3: tile<3>(ar, k, kc, bt, ldb, cols, pc > 0, cr, n); break;
            default: tile<4>(ar, k, kc, bt, ldb, cols, pc > 0, cr, n);
          }
        }
      }
    }
  }, 2, 1);
}

}  // namespace

void batchMatMul(const MatMulGeom& g, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < g.batches; ++i) {
    if (g.aIndex[i] < 0 || g.aIndex[i] >= g.aMatrices || g.bIndex[i] < 0 || g.bIndex[i] >= g.bMatrices)
      throw std::out_of_range("batch index out of range");
  }
  const int64_t aSize = g.m * g.k, bSize = g.k * g.n, cSize = g.m * g.n;
  auto one = [&](int64_t i, bool parallel) {
    if (parallel && g.m <= kSmallM) {
      smallM(a + g.aIndex[i] * aSize, g.transA, b + g.bIndex[i] * bSize, g.transB, g.m, g.n, g.k, out + i * cSize);
      return;
    }
    const DenseA av(a + g.aIndex[i] * aSize, g.transA ? g.m : g.k, g.transA);
    const DenseB bv(b + g.bIndex[i] * bSize, g.transB ? g.k : g.n, g.transB);
    sgemm(av, bv, g.m, g.n, g.k, out + i * cSize, g.n, false, parallel);
  };
  ThreadPool& tp = pool();
  const bool small = g.m * g.n * g.k < (int64_t{1} << 21);
  if (g.batches >= tp.size() && small) {
    tp.run(g.batches, [&](int64_t i, int) { one(i, false); });
  } else {
    for (int64_t i = 0; i < g.batches; ++i) one(i, true);
  }
}

}  // namespace diffiqa
