#include <stdexcept>

#include "../napi_util.h"
#include "../softmax.h"
#include "data_movement_kernels.h"

namespace diffiqa {

/// softmax(x, out, rows, cols): softmax over the last axis of a [rows, cols] view.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return guard(info, "softmax", [&] {
    F32 x = argF32(info, 0, "x"), out = argF32(info, 1, "out");
    const int64_t rows = static_cast<int64_t>(argNumber(info, 2, "rows"));
    const int64_t cols = static_cast<int64_t>(argNumber(info, 3, "cols"));
    if (rows < 0 || cols < 0) throw std::invalid_argument("rows/cols: negative size");
    requireLength(x, rows * cols, "x");
    requireLength(out, rows * cols, "out");
    softmaxRows(x.data, out.data, rows, cols);
  });
}

}  // namespace diffiqa
