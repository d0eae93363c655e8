#include "../matmul.h"
#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

namespace {
/// Shared unpacking: (a, b, out, [m, n, k, transA, transB], aIndex, bIndex).
MatMulGeom argMatMul(const Napi::CallbackInfo& info, F32& a, F32& b, F32& out) {
  const std::vector<int64_t> d = argInts(info, 3, 5, "dims");
  Napi::Int32Array ai = argI32(info, 4, "aIndex"), bi = argI32(info, 5, "bIndex");
  a = argF32(info, 0, "a");
  b = argF32(info, 1, "b");
  out = argF32(info, 2, "out");
  if (d[0] < 0 || d[1] < 0 || d[2] < 0) throw std::invalid_argument("dims: negative size");
  if (ai.ElementLength() != bi.ElementLength()) throw std::invalid_argument("aIndex and bIndex differ in length");
  MatMulGeom g{d[0], d[1], d[2], d[3] != 0, d[4] != 0, static_cast<int64_t>(ai.ElementLength()), ai.Data(),
               bi.Data(), 0, 0};
  const int64_t aSize = g.m * g.k, bSize = g.k * g.n;
  if ((aSize > 0 && a.length % aSize != 0) || (bSize > 0 && b.length % bSize != 0))
    throw std::invalid_argument("a or b: length is not a whole number of matrices");
  g.aMatrices = aSize > 0 ? a.length / aSize : 0;
  g.bMatrices = bSize > 0 ? b.length / bSize : 0;
  requireLength(out, g.batches * g.m * g.n, "out");
  if (aSize == 0 || bSize == 0) g.aMatrices = g.bMatrices = INT32_MAX;  // nothing is read
  return g;
}
}  // namespace

/// batchMatMul(a, b, out, dims, aIndex, bIndex)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  return guard(info, "BatchMatMul", [&] {
    F32 a{}, b{}, out{};
    const MatMulGeom g = argMatMul(info, a, b, out);
    batchMatMul(g, a.data, b.data, out.data);
  });
}

/// fusedMatMul(a, b, out, dims, aIndex, bIndex, bias|null, activationCode, preluAlpha|null, leakyreluAlpha)
Napi::Value FusedMatMul(const Napi::CallbackInfo& info) {
  return guard(info, "_FusedMatMul", [&] {
    F32 a{}, b{}, out{};
    const MatMulGeom g = argMatMul(info, a, b, out);
    const Epilogue e = argEpilogue(info, 6, g.n);
    batchMatMul(g, a.data, b.data, out.data);
    applyEpilogue(e, out.data, g.batches * g.m, g.n);
  });
}

}  // namespace diffiqa
