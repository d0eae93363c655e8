#include <algorithm>
#include <vector>

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
    const bool directAct = e.act == Activation::Linear || e.act == Activation::Prelu;
    if (conv2dDirectApplies(g) && directAct && (e.bias == nullptr || e.biasLen == g.outC)) {
      // The bias is the accumulators' initial value; PReLU is applied in registers (one alpha per channel).
      std::vector<float> alpha;
      if (e.act == Activation::Prelu) alpha.assign(static_cast<size_t>(g.outC), e.alpha[0]);
      if (e.act == Activation::Prelu && e.alphaLen != 1) std::copy(e.alpha, e.alpha + g.outC, alpha.begin());
      conv2dDirect(g, x.data, w.data, e.bias, out.data, alpha.empty() ? nullptr : alpha.data());
      return;
    }
    conv2dForward(g, x.data, w.data, out.data);
    applyEpilogue(e, out.data, g.rows(), g.outC);
  });
}

}  // namespace diffiqa
