#include <cstring>

#include "../napi_util.h"
#include "../random.h"
#include "kernels.h"

namespace diffiqa {

/// arc4Normals(states: Uint8Array (G x 258), pairs, out: Float32Array (G x 2 x pairs), guard?: ulps = 1024)
///   -> Float64Array of (index, u, v) triples for JS to recompute (random.h)
Napi::Value Arc4Normals(const Napi::CallbackInfo& info) {
  return guard(info, "arc4Normals", [&]() -> Napi::Value {
    if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw std::invalid_argument("states: expected a Uint8Array");
    auto states = info[0].As<Napi::Uint8Array>();
    const F32 out = argF32(info, 2, "out");
    const double pairs = argNumber(info, 1, "pairs");
    if (pairs < 0 || pairs != static_cast<double>(static_cast<int64_t>(pairs))) throw std::invalid_argument("pairs: expected a count");
    const double guardUlps = info.Length() > 3 && !info[3].IsUndefined() ? argNumber(info, 3, "guard") : 1024;
    if (!(guardUlps >= 0 && guardUlps <= 0x10000000)) throw std::invalid_argument("guard: expected ulps in [0, 2^28]");
    if (states.ElementLength() % kArc4StateBytes != 0) throw std::invalid_argument("states: length is not a multiple of 258");
    const int64_t G = static_cast<int64_t>(states.ElementLength()) / kArc4StateBytes;
    if (static_cast<double>(out.length) != static_cast<double>(G) * 2 * pairs) throw std::invalid_argument("out: expected 2 x pairs floats per generator");
    const std::vector<double> hard = arc4Normals(states.Data(), G, static_cast<int64_t>(pairs), static_cast<int64_t>(guardUlps), out.data);
    auto result = Napi::Float64Array::New(info.Env(), hard.size());
    if (!hard.empty()) std::memcpy(result.Data(), hard.data(), hard.size() * sizeof(double));
    return result;
  });
}

}  // namespace diffiqa
