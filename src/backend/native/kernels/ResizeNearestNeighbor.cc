// resizeNearest / resizeNearestGrad entries: the index tables come from the TS kernels and are checked here.
#include <stdexcept>
#include <string>

#include "../napi_util.h"
#include "../resize.h"
#include "data_movement_kernels.h"

namespace diffiqa {

namespace {

std::vector<int64_t> argDims(const Napi::CallbackInfo& info, size_t index) {
  std::vector<int64_t> d = argInts(info, index, 6, "dims");
  for (int64_t v : d)
    if (v < 0) throw std::invalid_argument("dims: negative size");
  return d;
}

/// Every entry of `table` (length `count`) lies in [0, limit).
void requireIndices(const Napi::Int32Array& table, int64_t count, int64_t limit, const char* name) {
  if (static_cast<int64_t>(table.ElementLength()) != count)
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(count) + " entries");
  const int32_t* t = table.Data();
  for (int64_t i = 0; i < count; ++i)
    if (t[i] < 0 || t[i] >= limit) throw std::invalid_argument(std::string(name) + ": index out of range");
}

/// A CSR pair: ptr has n + 1 non-decreasing entries from 0 to list's length; list entries lie in [0, limit).
void requireCsr(const Napi::Int32Array& ptr, const Napi::Int32Array& list, int64_t n, int64_t limit,
                const char* name) {
  const int32_t* p = ptr.Data();
  if (static_cast<int64_t>(ptr.ElementLength()) != n + 1 || p[0] != 0 ||
      p[n] != static_cast<int32_t>(list.ElementLength()))
    throw std::invalid_argument(std::string(name) + ": malformed index lists");
  for (int64_t i = 0; i < n; ++i)
    if (p[i + 1] < p[i]) throw std::invalid_argument(std::string(name) + ": malformed index lists");
  requireIndices(list, static_cast<int64_t>(list.ElementLength()), limit, name);
}

}  // namespace

/// resizeNearest(x, out, dims[batch, inH, inW, ch, outH, outW], rowIdx, colIdx)
Napi::Value ResizeNearestNeighbor(const Napi::CallbackInfo& info) {
  return guard(info, "resizeNearest", [&] {
    F32 x = argF32(info, 0, "x"), out = argF32(info, 1, "out");
    const std::vector<int64_t> d = argDims(info, 2);
    requireLength(x, d[0] * d[1] * d[2] * d[3], "x");
    requireLength(out, d[0] * d[4] * d[5] * d[3], "out");
    Napi::Int32Array rows = argI32(info, 3, "rowIdx"), cols = argI32(info, 4, "colIdx");
    requireIndices(rows, d[4], d[1], "rowIdx");
    requireIndices(cols, d[5], d[2], "colIdx");
    if (out.length == 0) return;
    resizeNearest(x.data, out.data, d.data(), rows.Data(), cols.Data());
  });
}

/// resizeNearestGrad(dy, dx, dims[batch, xH, xW, ch, yH, yW], rowPtr, rowList, colPtr, colList)
Napi::Value ResizeNearestNeighborGrad(const Napi::CallbackInfo& info) {
  return guard(info, "resizeNearestGrad", [&] {
    F32 dy = argF32(info, 0, "dy"), dx = argF32(info, 1, "dx");
    const std::vector<int64_t> d = argDims(info, 2);
    requireLength(dx, d[0] * d[1] * d[2] * d[3], "dx");
    requireLength(dy, d[0] * d[4] * d[5] * d[3], "dy");
    Napi::Int32Array rowPtr = argI32(info, 3, "rowPtr"), rowList = argI32(info, 4, "rowList");
    Napi::Int32Array colPtr = argI32(info, 5, "colPtr"), colList = argI32(info, 6, "colList");
    requireCsr(rowPtr, rowList, d[1], d[4], "rows");
    requireCsr(colPtr, colList, d[2], d[5], "cols");
    if (dx.length == 0) return;
    resizeNearestGrad(dy.data, dx.data, d.data(), rowPtr.Data(), rowList.Data(), colPtr.Data(), colList.Data());
  });
}

}  // namespace diffiqa
