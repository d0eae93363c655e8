// Big products run one after another with a parallel GEMM; many small ones run one per task with serial GEMMs.
#include <stdexcept>

#include "gemm.h"
#include "matmul.h"
#include "thread_pool.h"

namespace diffiqa {

void batchMatMul(const MatMulGeom& g, const float* a, const float* b, float* out) {
  for (int64_t i = 0; i < g.batches; ++i) {
    if (g.aIndex[i] < 0 || g.aIndex[i] >= g.aMatrices || g.bIndex[i] < 0 || g.bIndex[i] >= g.bMatrices)
      throw std::out_of_range("batch index out of range");
  }
  const int64_t aSize = g.m * g.k, bSize = g.k * g.n, cSize = g.m * g.n;
  auto one = [&](int64_t i, bool parallel) {
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
