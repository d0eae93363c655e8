#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// conv2dBackpropFilter(x, dy, dw, geometry)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  return guard(info, "Conv2DBackpropFilter", [&] {
    const ConvGeom g = argGeom(info, 3, false);
    F32 x = argF32(info, 0, "x"), dy = argF32(info, 1, "dy"), dw = argF32(info, 2, "dw");
    requireLength(x, g.inSize(), "x");
    requireLength(dy, g.outSize(), "dy");
    requireLength(dw, g.taps() * g.outC, "dw");
    conv2dBackpropFilter(g, x.data, dy.data, dw.data);
  });
}

}  // namespace diffiqa
