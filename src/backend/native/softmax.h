// Softmax over the last axis in one native pass per row block (tfjs cpu runs max, sub, exp, sum and div as five
// single-threaded JS kernels with four temporaries).
#pragma once
#include <cstdint>

namespace diffiqa {

/// out[r, :] = exp(x[r, :] - max_r) / sum exp(x[r, :] - max_r) for r in [0, rows); the sum is accumulated in double.
void softmaxRows(const float* x, float* out, int64_t rows, int64_t cols);

}  // namespace diffiqa
