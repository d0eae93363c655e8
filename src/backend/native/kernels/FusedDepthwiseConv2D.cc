#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

/// fusedDepthwiseConv2d(x, w, out, geometry, bias|null, activationCode, preluAlpha|null, leakyreluAlpha)
Napi::Value FusedDepthwiseConv2D(const Napi::CallbackInfo& info) {
  return guard(info, "FusedDepthwiseConv2D", [&] {
    const ConvGeom g = argGeom(info, 3, true);
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "filter"), out = argF32(info, 2, "out");
    requireLength(x, g.inSize(), "x");
    requireLength(w, g.fH * g.fW * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    const Epilogue e = argEpilogue(info, 4, g.outC);
    depthwiseForward(g, x.data, w.data, out.data, &e);
  });
}

}  // namespace diffiqa
