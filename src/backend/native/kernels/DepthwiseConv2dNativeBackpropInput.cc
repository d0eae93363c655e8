#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// depthwiseConv2dNativeBackpropInput(dy, w, dx, geometry)
Napi::Value DepthwiseConv2dNativeBackpropInput(const Napi::CallbackInfo& info) {
  return guard(info, "DepthwiseConv2dNativeBackpropInput", [&] {
    const ConvGeom g = argGeom(info, 3, true);
    F32 dy = argF32(info, 0, "dy"), w = argF32(info, 1, "filter"), dx = argF32(info, 2, "dx");
    requireLength(dy, g.outSize(), "dy");
    requireLength(w, g.fH * g.fW * g.outC, "filter");
    requireLength(dx, g.inSize(), "dx");
    depthwiseBackpropInput(g, dy.data, w.data, dx.data);
  });
}

}  // namespace diffiqa
