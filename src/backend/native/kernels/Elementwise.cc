#include "../elementwise.h"
#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// binaryOp(code, a, b, out, shape, aStrides, bStrides): collapsed broadcast (see elementwise.h).
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guard(info, "binaryOp", [&] {
    const int code = static_cast<int>(argNumber(info, 0, "op"));
    if (code < 0 || code > 6) throw std::invalid_argument("op: unknown binary op code");
    F32 a = argF32(info, 1, "a"), b = argF32(info, 2, "b"), out = argF32(info, 3, "out");
    const BroadcastGeometry g = argBroadcast(info, 4, a, b, out);
    if (g.size == 0) return;
    binaryOp(static_cast<BinaryOp>(code), a.data, g.aStrides.data(), b.data, g.bStrides.data(), out.data,
             g.shape.data(), g.rank());
  });
}

/// adamUpdate(p, g, m, v, scalars[8], pOut, mOut, vOut): scalars = gradScale, beta1, 1-beta1, beta2, 1-beta2, bc2,
/// eps, stepSize (each rounded to float32 here, as tfjs's scalar tensors are).
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  return guard(info, "adamUpdate", [&] {
    F32 p = argF32(info, 0, "p"), g = argF32(info, 1, "g"), m = argF32(info, 2, "m"), v = argF32(info, 3, "v");
    F32 sc = argF32(info, 4, "scalars");
    F32 pOut = argF32(info, 5, "pOut"), mOut = argF32(info, 6, "mOut"), vOut = argF32(info, 7, "vOut");
    requireLength(sc, 8, "scalars");
    for (const F32* a : {&g, &m, &v, &pOut, &mOut, &vOut}) requireLength(*a, p.length, "Adam operand");
    const AdamScalars s{sc.data[0], sc.data[1], sc.data[2], sc.data[3], sc.data[4], sc.data[5], sc.data[6], sc.data[7]};
    adamUpdate(p.data, g.data, m.data, v.data, s, pOut.data, mOut.data, vOut.data, p.length);
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
