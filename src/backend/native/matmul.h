// Batched matrix multiply with broadcast batch dimensions resolved by the caller into per-batch offsets.
#pragma once
#include <cstdint>

namespace diffiqa {

struct MatMulGeom {
  int64_t m, n, k;
  bool transA, transB;
  int64_t batches;        // output batches
  const int32_t* aIndex;  // a's matrix index for each output batch
  const int32_t* bIndex;
  int64_t aMatrices, bMatrices;  // how many matrices a and b hold (for bounds checks)
};

/// out[batch] = op(a[aIndex[batch]]) * op(b[bIndex[batch]]), op = transpose when requested.
void batchMatMul(const MatMulGeom& g, const float* a, const float* b, float* out);

}  // namespace diffiqa
