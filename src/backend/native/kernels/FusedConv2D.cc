#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// fusedConv2d(x, w, out, geometry, bias|null, activationCode, preluAlpha|null, leakyreluAlpha)
Napi::Value FusedConv2D(const Napi::CallbackInfo& info) {
  return guard(info, "FusedConv2D", [&] {
    const ConvGeom g = argGeom(info, 3, false);
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "filter"), out = argF32(info, 2, "out");
    requireLength(x, g.inSize(), "x");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    fusedConv2d(g, x.data, nullptr, w.data, out.data, argEpilogue(info, 4, g.outC));
  });
}

/// fusedConv2dConcat(a, b, w, out, geometry, bias|null, activationCode, preluAlpha|null, leakyreluAlpha): as
/// fusedConv2d on the channel concatenation of a and b (geometry's inC = their channel counts' sum), never stored.
Napi::Value FusedConv2DConcat(const Napi::CallbackInfo& info) {
  return guard(info, "fusedConv2dConcat", [&] {
    const ConvGeom g = argGeom(info, 4, false);
    F32 a = argF32(info, 0, "a"), b = argF32(info, 1, "b"), w = argF32(info, 2, "filter"), out = argF32(info, 3, "out");
    const int64_t pixels = g.batch * g.inH * g.inW;
    if (pixels == 0 || a.length % pixels != 0 || a.length / pixels >= g.inC) throw std::invalid_argument("a: expected [B,H,W,ca] with 0 < ca < inC");
    const ChannelPair pair{a.data, a.length / pixels, b.data, g.inC - a.length / pixels};
    requireLength(b, pixels * pair.cb, "b");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    fusedConv2d(g, nullptr, &pair, w.data, out.data, argEpilogue(info, 5, g.outC));
  });
}

}  // namespace diffiqa
