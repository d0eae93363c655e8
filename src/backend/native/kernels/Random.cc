#include "../napi_util.h"
#include "../random.h"
#include "kernels.h"

namespace diffiqa {

/// arc4UniformPairs(states: Uint8Array (G x 258), pairs, out: Float64Array (G x 2 x pairs))
Napi::Value Arc4UniformPairs(const Napi::CallbackInfo& info) {
  return guard(info, "arc4UniformPairs", [&] {
    if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw std::invalid_argument("states: expected a Uint8Array");
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw std::invalid_argument("out: expected a Float64Array");
    auto states = info[0].As<Napi::Uint8Array>();
    auto out = info[2].As<Napi::Float64Array>();
    const double pairs = argNumber(info, 1, "pairs");
    if (pairs < 0 || pairs != static_cast<double>(static_cast<int64_t>(pairs))) throw std::invalid_argument("pairs: expected a count");
    if (states.ElementLength() % kArc4StateBytes != 0) throw std::invalid_argument("states: length is not a multiple of 258");
    const int64_t G = static_cast<int64_t>(states.ElementLength()) / kArc4StateBytes;
    if (static_cast<double>(out.ElementLength()) != static_cast<double>(G) * 2 * pairs) throw std::invalid_argument("out: expected 2 x pairs doubles per generator");
    arc4UniformPairs(states.Data(), G, static_cast<int64_t>(pairs), out.Data());
  });
}

}  // namespace diffiqa
