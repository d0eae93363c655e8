// Row blocks run on the thread pool; exp is the addon's vectorised one (unaryOp, elementwise_impl.cc), which runs
// inline on the block because nested pool regions do.
#include <algorithm>

#include "elementwise.h"
#include "softmax.h"
#include "thread_pool.h"

namespace diffiqa {

void softmaxRows(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t perTask = std::max<int64_t>(1, 8192 / cols);
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* o = out + r * cols;
      float m = xr[0];
      for (int64_t j = 1; j < cols; ++j) m = std::max(m, xr[j]);
      for (int64_t j = 0; j < cols; ++j) o[j] = xr[j] - m;
    }
    unaryOp(UnaryOp::Exp, out + r0 * cols, out + r0 * cols, (r1 - r0) * cols);
    for (int64_t r = r0; r < r1; ++r) {
      float* o = out + r * cols;
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += o[j];
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t j = 0; j < cols; ++j) o[j] *= inv;
    }
  }, 4, perTask);
}

}  // namespace diffiqa
