#include "napi_util.h"

#include <stdexcept>

namespace diffiqa {

namespace {
std::string what(const char* name, const char* expected) { return std::string(name) + ": expected " + expected; }
}  // namespace

F32 argF32(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw std::invalid_argument(what(name, "a Float32Array"));
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return {a.Data(), static_cast<int64_t>(a.ElementLength())};
}

F32 argOptionalF32(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || info[index].IsNull() || info[index].IsUndefined()) return {nullptr, 0};
  return argF32(info, index, name);
}

std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t index, size_t count, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsObject()) throw std::invalid_argument(what(name, "an array of integers"));
  Napi::Object o = v.As<Napi::Object>();
  std::vector<int64_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    Napi::Value e = o.Get(static_cast<uint32_t>(i));
    if (!e.IsNumber()) throw std::invalid_argument(what(name, "an array of integers"));
    out[i] = e.As<Napi::Number>().Int64Value();
  }
  return out;
}

Napi::Int32Array argI32(const Napi::CallbackInfo& info, size_t index, const char* name) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw std::invalid_argument(what(name, "an Int32Array"));
  return v.As<Napi::Int32Array>();
}

double argNumber(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsNumber()) throw std::invalid_argument(what(name, "a number"));
  return info[index].As<Napi::Number>().DoubleValue();
}

bool argBool(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsBoolean()) throw std::invalid_argument(what(name, "a boolean"));
  return info[index].As<Napi::Boolean>().Value();
}

void requireLength(const F32& a, int64_t want, const char* name) {
  if (a.length != want)
    throw std::invalid_argument(std::string(name) + ": expected " + std::to_string(want) + " elements, got " +
                                std::to_string(a.length));
}

Epilogue argEpilogue(const Napi::CallbackInfo& info, size_t first, int64_t cols) {
  Epilogue e;
  F32 bias = argOptionalF32(info, first, "bias");
  if (bias.data != nullptr && bias.length != 1 && bias.length != cols)
    throw std::invalid_argument("bias: expected 1 or " + std::to_string(cols) + " elements");
  e.bias = bias.data;
  e.biasLen = bias.length;
  e.act = toActivation(static_cast<int>(argNumber(info, first + 1, "activation")));
  F32 alpha = argOptionalF32(info, first + 2, "preluActivationWeights");
  if (e.act == Activation::Prelu && (alpha.data == nullptr || (alpha.length != 1 && alpha.length != cols)))
    throw std::invalid_argument("preluActivationWeights: expected 1 or " + std::to_string(cols) + " elements");
  e.alpha = alpha.data;
  e.alphaLen = alpha.length;
  e.leakyAlpha = static_cast<float>(argNumber(info, first + 3, "leakyreluAlpha"));
  return e;
}

BroadcastGeometry argBroadcast(const Napi::CallbackInfo& info, size_t shapeIndex, const F32& a, const F32& b, const F32& out) {
  if (!info[shapeIndex].IsArray()) throw std::invalid_argument("shape: expected an array");
  const size_t rank = info[shapeIndex].As<Napi::Array>().Length();
  if (rank < 1 || rank > 8) throw std::invalid_argument("shape: rank must be 1..8");
  BroadcastGeometry g{argInts(info, shapeIndex, rank, "shape"), argInts(info, shapeIndex + 1, rank, "aStrides"),
                      argInts(info, shapeIndex + 2, rank, "bStrides"), 1};
  int64_t aMax = 0, bMax = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (g.shape[d] < 0 || g.aStrides[d] < 0 || g.bStrides[d] < 0) throw std::invalid_argument("shape/strides: negative value");
    g.size *= g.shape[d];
    aMax += (g.shape[d] - 1) * g.aStrides[d];
    bMax += (g.shape[d] - 1) * g.bStrides[d];
  }
  requireLength(out, g.size, "out");
  if (g.size > 0 && (aMax >= a.length || bMax >= b.length)) throw std::invalid_argument("strides reach past a or b");
  return g;
}

}  // namespace diffiqa
