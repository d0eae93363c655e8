#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// conv2dBackpropInput(dy, w, dx, geometry)
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  return guard(info, "Conv2DBackpropInput", [&] {
    const ConvGeom g = argGeom(info, 3, false);
    F32 dy = argF32(info, 0, "dy"), w = argF32(info, 1, "filter"), dx = argF32(info, 2, "dx");
    requireLength(dy, g.outSize(), "dy");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(dx, g.inSize(), "dx");
    conv2dBackpropInput(g, dy.data, w.data, dx.data);
  });
}

}  // namespace diffiqa
