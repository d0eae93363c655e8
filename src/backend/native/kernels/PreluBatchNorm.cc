// Entries for Prelu, Greater, Select and FusedBatchNorm (prelu_bn.h); the TS kernels decide which cases come here.
#include <stdexcept>
#include <string>

#include "../napi_util.h"
#include "../prelu_bn.h"
#include "data_movement_kernels.h"

namespace diffiqa {

namespace {

struct Bytes {
  uint8_t* data;
  int64_t length;
};

Bytes argU8(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw std::invalid_argument(std::string(name) + ": expected a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return {a.Data(), static_cast<int64_t>(a.ElementLength())};
}

/// A Float32Array or Int32Array as 32-bit words.
uint32_t* argWords32(const Napi::CallbackInfo& info, size_t index, int64_t length, const char* name) {
  Napi::Value v = info[index];
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    const napi_typedarray_type type = t.TypedArrayType();
    if ((type == napi_float32_array || type == napi_int32_array) && static_cast<int64_t>(t.ElementLength()) == length)
      return reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
  }
  throw std::invalid_argument(std::string(name) + ": expected a Float32Array or Int32Array of " +
                              std::to_string(length) + " elements");
}

void requireNonEmpty(const F32& a, const char* name) {
  if (a.length < 1) throw std::invalid_argument(std::string(name) + ": expected at least one value");
}

}  // namespace

/// prelu(x, alpha, out): alpha repeats along the flat index (a channel vector or one value).
Napi::Value Prelu(const Napi::CallbackInfo& info) {
  return guard(info, "prelu", [&] {
    F32 x = argF32(info, 0, "x"), alpha = argF32(info, 1, "alpha"), out = argF32(info, 2, "out");
    requireNonEmpty(alpha, "alpha");
    requireLength(out, x.length, "out");
    preluChannels(x.data, alpha.data, alpha.length, out.data, x.length);
  });
}

/// preluGrad(x, dy, alpha, dx, dalpha): alpha (and dalpha) one value or a channel vector along the last axis.
Napi::Value PreluGrad(const Napi::CallbackInfo& info) {
  return guard(info, "preluGrad", [&] {
    F32 x = argF32(info, 0, "x"), dy = argF32(info, 1, "dy"), alpha = argF32(info, 2, "alpha");
    F32 dx = argF32(info, 3, "dx"), dalpha = argF32(info, 4, "dalpha");
    requireNonEmpty(alpha, "alpha");
    requireLength(dy, x.length, "dy");
    requireLength(dx, x.length, "dx");
    requireLength(dalpha, alpha.length, "dalpha");
    if (alpha.length > 1 && x.length % alpha.length != 0)
      throw std::invalid_argument("alpha: expected one value or a divisor of x's length");
    preluGrad(x.data, dy.data, alpha.data, alpha.length, dx.data, dalpha.data, x.length);
  });
}

/// greater(a, b, out): b has one value or a's length; out is a Uint8Array of a's length.
Napi::Value Greater(const Napi::CallbackInfo& info) {
  return guard(info, "greater", [&] {
    F32 a = argF32(info, 0, "a"), b = argF32(info, 1, "b");
    Bytes out = argU8(info, 2, "out");
    if (b.length != 1 && b.length != a.length) throw std::invalid_argument("b: expected 1 value or a's length");
    if (out.length != a.length) throw std::invalid_argument("out: expected a's length");
    greaterThan(a.data, b.data, b.length == a.length ? 1 : 0, out.data, a.length);
  });
}

/// select(cond, t, e, out): all of one length.
Napi::Value Select(const Napi::CallbackInfo& info) {
  return guard(info, "select", [&] {
    Bytes cond = argU8(info, 0, "condition");
    const int64_t n = cond.length;
    const uint32_t* t = argWords32(info, 1, n, "t");
    const uint32_t* e = argWords32(info, 2, n, "e");
    uint32_t* out = argWords32(info, 3, n, "out");
    selectWords(cond.data, t, e, out, n);
  });
}

/// fusedBatchNorm(x, mean, variance, scale|null, offset|null, eps, out)
Napi::Value FusedBatchNorm(const Napi::CallbackInfo& info) {
  return guard(info, "fusedBatchNorm", [&] {
    F32 x = argF32(info, 0, "x"), mean = argF32(info, 1, "mean"), variance = argF32(info, 2, "variance");
    F32 scale = argOptionalF32(info, 3, "scale"), offset = argOptionalF32(info, 4, "offset");
    const double eps = argNumber(info, 5, "varianceEpsilon");
    F32 out = argF32(info, 6, "out");
    requireNonEmpty(mean, "mean");
    requireNonEmpty(variance, "variance");
    if (scale.data) requireNonEmpty(scale, "scale");
    if (offset.data) requireNonEmpty(offset, "offset");
    requireLength(out, x.length, "out");
    batchNormWrap(x.data, x.length, mean.data, mean.length, variance.data, variance.length, scale.data, scale.length,
                  offset.data, offset.length, eps, out.data);
  });
}

}  // namespace diffiqa
