#include <stdexcept>

#include "../napi_util.h"
#include "../pow.h"
#include "data_movement_kernels.h"

namespace diffiqa {

/// pow(a, b, out, shape, aStrides, bStrides): collapsed broadcast like binaryOp, any inner strides.
Napi::Value Pow(const Napi::CallbackInfo& info) {
  return guard(info, "pow", [&] {
    F32 a = argF32(info, 0, "a"), b = argF32(info, 1, "b"), out = argF32(info, 2, "out");
    const BroadcastGeometry g = argBroadcast(info, 3, a, b, out);
    if (g.size == 0) return;
    powBroadcast(a.data, g.aStrides.data(), b.data, g.bStrides.data(), out.data, g.shape.data(), g.rank());
  });
}

}  // namespace diffiqa
