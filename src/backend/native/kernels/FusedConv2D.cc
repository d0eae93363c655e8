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
    const bool winograd = conv2dWinogradApplies(g);
    if ((winograd || conv2dDirectApplies(g)) && directAct && (e.bias == nullptr || e.biasLen == g.outC)) {
      // Bias and PReLU (one alpha per channel) inside the kernel: the direct kernel's accumulators start at the
      // bias and PReLU runs in registers; Winograd applies both in its output transform.
      std::vector<float> alpha;
      if (e.act == Activation::Prelu) alpha.assign(static_cast<size_t>(g.outC), e.alpha[0]);
      if (e.act == Activation::Prelu && e.alphaLen != 1) std::copy(e.alpha, e.alpha + g.outC, alpha.begin());
      const float* a = alpha.empty() ? nullptr : alpha.data();
      if (winograd) conv2dWinograd(g, x.data, w.data, e.bias, out.data, a);
      else conv2dDirect(g, x.data, w.data, e.bias, out.data, a);
      return;
    }
    conv2dForward(g, x.data, w.data, out.data);
    applyEpilogue(e, out.data, g.rows(), g.outC);
  });
}

}  // namespace diffiqa
