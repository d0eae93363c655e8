#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// depthwiseConv2dNativeBackpropFilter(x, dy, dw, geometry)
Napi::Value DepthwiseConv2dNativeBackpropFilter(const Napi::CallbackInfo& info) {
  return guard(info, "DepthwiseConv2dNativeBackpropFilter", [&] {
    const ConvGeom g = argGeom(info, 3, true);
    F32 x = argF32(info, 0, "x"), dy = argF32(info, 1, "dy"), dw = argF32(info, 2, "dw");
    requireLength(x, g.inSize(), "x");
    requireLength(dy, g.outSize(), "dy");
    requireLength(dw, g.fH * g.fW * g.outC, "dw");
    depthwiseBackpropFilter(g, x.data, dy.data, dw.data);
  });
}

}  // namespace diffiqa
