// stridedCopy: the one entry behind Slice, SplitV, Concat, Transpose, Tile, PadV2 and Reverse (their TS kernels
// turn attributes into a shape and two stride vectors).
#include <stdexcept>
#include <string>

#include "../data_movement.h"
#include "../napi_util.h"
#include "data_movement_kernels.h"

namespace diffiqa {

namespace {

struct Words {
  uint32_t* data;
  int64_t length;
};

/// A Float32Array, Int32Array or Uint32Array argument viewed as 32-bit words (no copy).
Words argWords(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    const napi_typedarray_type type = t.TypedArrayType();
    if (type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array) {
      auto* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
      return {reinterpret_cast<uint32_t*>(base), static_cast<int64_t>(t.ElementLength())};
    }
  }
  throw std::invalid_argument(std::string(name) + ": expected a Float32Array or Int32Array");
}

void requireInside(int64_t offset, const int64_t* shape, const int64_t* strides, int rank, int64_t length,
                   const char* name) {
  int64_t lo = 0, hi = 0;
  stridedExtent(shape, strides, rank, &lo, &hi);
  if (offset + lo < 0 || offset + hi >= length)
    throw std::invalid_argument(std::string(name) + ": offset and strides reach outside the array");
}

}  // namespace

/// stridedCopy(src, srcOffset, dst, dstOffset, shape, srcStrides, dstStrides)
Napi::Value StridedCopy(const Napi::CallbackInfo& info) {
  return guard(info, "stridedCopy", [&] {
    Words src = argWords(info, 0, "src"), dst = argWords(info, 2, "dst");
    const int64_t so = static_cast<int64_t>(argNumber(info, 1, "srcOffset"));
    const int64_t dof = static_cast<int64_t>(argNumber(info, 3, "dstOffset"));
    if (!info[4].IsArray()) throw std::invalid_argument("shape: expected an array");
    const size_t rank = info[4].As<Napi::Array>().Length();
    if (rank < 1 || rank > static_cast<size_t>(kMaxCopyRank))
      throw std::invalid_argument("shape: rank must be 1.." + std::to_string(kMaxCopyRank));
    const std::vector<int64_t> shape = argInts(info, 4, rank, "shape");
    const std::vector<int64_t> ss = argInts(info, 5, rank, "srcStrides"), ds = argInts(info, 6, rank, "dstStrides");
    for (int64_t s : shape)
      if (s < 0) throw std::invalid_argument("shape: negative size");
    for (int64_t s : shape)
      if (s == 0) return;
    const int r = static_cast<int>(rank);
    requireInside(so, shape.data(), ss.data(), r, src.length, "src");
    requireInside(dof, shape.data(), ds.data(), r, dst.length, "dst");
    stridedCopy(src.data + so, ss.data(), dst.data + dof, ds.data(), shape.data(), r);
  });
}

}  // namespace diffiqa
