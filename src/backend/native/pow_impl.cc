// Rows of the collapsed broadcast shape are the parallel tasks; the exponent is usually one scalar, which gets a
// loop of its own.
#include <algorithm>
#include <cmath>

#include "pow.h"
#include "thread_pool.h"

namespace diffiqa {

void powBroadcast(const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out,
                  const int64_t* shape, int rank) {
  const int64_t inner = shape[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= shape[d];
  const int64_t perTask = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner));
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t ao = 0, bo = 0, rest = r;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t c = rest % shape[d];
        rest /= shape[d];
        ao += c * as[d];
        bo += c * bs[d];
      }
      const float* x = a + ao;
      const float* y = b + bo;
      float* o = out + r * inner;
      if (sb == 0) {
        const double e = y[0];
        for (int64_t j = 0; j < inner; ++j) o[j] = static_cast<float>(std::pow(static_cast<double>(x[j * sa]), e));
      } else {
        for (int64_t j = 0; j < inner; ++j)
          o[j] = static_cast<float>(std::pow(static_cast<double>(x[j * sa]), static_cast<double>(y[j * sb])));
      }
    }
  }, 4, perTask);
}

}  // namespace diffiqa
