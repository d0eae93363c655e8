// stridedCopy: the one entry behind Slice, SplitV, Concat, Transpose, Tile, PadV2 and Reverse (their TS kernels
// turn attributes into a shape and two stride vectors).
#include <stdexcept>
#include <string>
#include <vector>

#include "../data_movement.h"
#include "../napi_util.h"
#include "data_movement_kernels.h"

namespace diffiqa {

namespace {

struct Words {
  uint32_t* data;
  int64_t length;
};

/// A Float32Array, Int32Array or Uint32Array value viewed as 32-bit words (no copy).
Words argWordsValue(Napi::Value v, const std::string& name) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    const napi_typedarray_type type = t.TypedArrayType();
    if (type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array) {
      auto* base = static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
      return {reinterpret_cast<uint32_t*>(base), static_cast<int64_t>(t.ElementLength())};
    }
  }
  throw std::invalid_argument(name + ": expected a Float32Array or Int32Array");
}

/// argWordsValue of argument `index`.
Words argWords(const Napi::CallbackInfo& info, size_t index, const char* name) { return argWordsValue(info[index], name); }

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

/// concatRows(inputs: (Float32Array|Int32Array)[], out, rows): out row r = row r of every input in turn; each input's
/// row width is its length / rows.
Napi::Value ConcatRows(const Napi::CallbackInfo& info) {
  return guard(info, "concatRows", [&] {
    if (info.Length() < 3 || !info[0].IsArray()) throw std::invalid_argument("inputs: expected an array");
    const Napi::Array arr = info[0].As<Napi::Array>();
    Words out = argWords(info, 1, "out");
    const double rowsArg = argNumber(info, 2, "rows");
    if (rowsArg < 1 || rowsArg != static_cast<double>(static_cast<int64_t>(rowsArg))) throw std::invalid_argument("rows: expected a positive integer");
    const int64_t rows = static_cast<int64_t>(rowsArg);
    std::vector<const uint32_t*> ins;
    std::vector<int64_t> widths;
    int64_t total = 0;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      Words w = argWordsValue(v, "inputs[" + std::to_string(i) + "]");
      if (w.length % rows != 0) throw std::invalid_argument("inputs[" + std::to_string(i) + "]: length is not a multiple of rows");
      ins.push_back(w.data);
      widths.push_back(w.length / rows);
      total += w.length;
    }
    if (total != out.length) throw std::invalid_argument("out: expected the inputs' total length");
    concatRows(ins.data(), widths.data(), static_cast<int>(ins.size()), out.data, rows);
  });
}

}  // namespace diffiqa
