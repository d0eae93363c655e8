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
    const Epilogue e = argEpilogue(info, 4, g.outC);
    if (conv2dDirectApplies(g) && e.act == Activation::Linear && (e.bias == nullptr || e.biasLen == g.outC)) {
      conv2dDirect(g, x.data, w.data, e.bias, out.data);  // the bias is the accumulators' initial value
      return;
    }
    conv2dForward(g, x.data, w.data, out.data);
    applyEpilogue(e, out.data, g.rows(), g.outC);
  });
}

}  // namespace diffiqa
