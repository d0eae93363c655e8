#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

ConvGeom argGeom(const Napi::CallbackInfo& info, size_t index, bool depthwise) {
  return makeGeom(argInts(info, index, 15, "geometry").data(), depthwise);
}

/// conv2d(x, w, out, geometry)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  return guard(info, "Conv2D", [&] {
    const ConvGeom g = argGeom(info, 3, false);
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "filter"), out = argF32(info, 2, "out");
    requireLength(x, g.inSize(), "x");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    conv2dForward(g, x.data, w.data, out.data);
  });
}

}  // namespace diffiqa
