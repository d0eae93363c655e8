#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// depthwiseConv2dNative(x, w, out, geometry)
Napi::Value DepthwiseConv2dNative(const Napi::CallbackInfo& info) {
  return guard(info, "DepthwiseConv2dNative", [&] {
    const ConvGeom g = argGeom(info, 3, true);
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "filter"), out = argF32(info, 2, "out");
    requireLength(x, g.inSize(), "x");
    requireLength(w, g.fH * g.fW * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    depthwiseForward(g, x.data, w.data, out.data);
  });
}

}  // namespace diffiqa
