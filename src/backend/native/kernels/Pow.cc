#include <stdexcept>

#include "../napi_util.h"
#include "../pow.h"
#include "data_movement_kernels.h"

namespace diffiqa {

/// pow(a, b, out, shape, aStrides, bStrides): collapsed broadcast like binaryOp, any inner strides.
Napi::Value Pow(const Napi::CallbackInfo& info) {
  return guard(info, "pow", [&] {
    F32 a = argF32(info, 0, "a"), b = argF32(info, 1, "b"), out = argF32(info, 2, "out");
    if (!info[3].IsArray()) throw std::invalid_argument("shape: expected an array");
    const size_t rank = info[3].As<Napi::Array>().Length();
    if (rank < 1 || rank > 8) throw std::invalid_argument("shape: rank must be 1..8");
    const std::vector<int64_t> shape = argInts(info, 3, rank, "shape");
    const std::vector<int64_t> as = argInts(info, 4, rank, "aStrides"), bs = argInts(info, 5, rank, "bStrides");
    int64_t n = 1, aMax = 0, bMax = 0;
    for (size_t d = 0; d < rank; ++d) {
      if (shape[d] < 0 || as[d] < 0 || bs[d] < 0) throw std::invalid_argument("shape/strides: negative value");
      n *= shape[d];
      aMax += (shape[d] - 1) * as[d];
      bMax += (shape[d] - 1) * bs[d];
    }
    requireLength(out, n, "out");
    if (n == 0) return;
    if (aMax >= a.length || bMax >= b.length) throw std::invalid_argument("strides reach past a or b");
    powBroadcast(a.data, as.data(), b.data, bs.data(), out.data, shape.data(), static_cast<int>(rank));
  });
}

}  // namespace diffiqa
