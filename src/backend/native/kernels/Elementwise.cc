#include "../elementwise.h"
#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// binaryOp(code, a, b, out, shape, aStrides, bStrides): collapsed broadcast (see elementwise.h).
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guard(info, "binaryOp", [&] {
    const int code = static_cast<int>(argNumber(info, 0, "op"));
    if (code < 0 || code > 4) throw std::invalid_argument("op: unknown binary op code");
    F32 a = argF32(info, 1, "a"), b = argF32(info, 2, "b"), out = argF32(info, 3, "out");
    const BroadcastGeometry g = argBroadcast(info, 4, a, b, out);
    if (g.size == 0) return;
    binaryOp(static_cast<BinaryOp>(code), a.data, g.aStrides.data(), b.data, g.bStrides.data(), out.data,
             g.shape.data(), g.rank());
  });
}

/// unaryOp(code, x, out)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  return guard(info, "unaryOp", [&] {
    const int code = static_cast<int>(argNumber(info, 0, "op"));
    if (code < 0 || code > 10) throw std::invalid_argument("op: unknown unary op code");
    F32 x = argF32(info, 1, "x"), out = argF32(info, 2, "out");
    requireLength(out, x.length, "out");
    unaryOp(static_cast<UnaryOp>(code), x.data, out.data, x.length);
  });
}

/// reduceSum(x, out, outer, red, inner, mean)
Napi::Value ReduceSum(const Napi::CallbackInfo& info) {
  return guard(info, "reduceSum", [&] {
    F32 x = argF32(info, 0, "x"), out = argF32(info, 1, "out");
    const std::vector<int64_t> d = argInts(info, 2, 3, "dims");
    const bool mean = argBool(info, 3, "mean");
    if (d[0] < 0 || d[1] < 0 || d[2] < 0) throw std::invalid_argument("dims: negative size");
    requireLength(x, d[0] * d[1] * d[2], "x");
    requireLength(out, d[0] * d[2], "out");
    reduceSum(x.data, out.data, d[0], d[1], d[2], mean);
  });
}

}  // namespace diffiqa
