#include <algorithm>
#include <vector>

#include "../data_movement.h"
#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

namespace {

/// conv(x) + bias, then the activation, for the geometry g: x given whole, or as a channel pair (then x is null).
void fusedConv(const ConvGeom& g, const float* x, const ChannelPair* pair, const float* w, float* out, const Epilogue& e) {
  const bool directAct = e.act == Activation::Linear || e.act == Activation::Prelu;
  const bool winograd = conv2dWinogradApplies(g);
  // Winograd reads a pair's parts 16 channels at a time; other pairs take the path the whole input would.
  const bool pairFits = pair == nullptr || !winograd || (pair->ca % 16 == 0 && pair->cb % 16 == 0);
  if (pairFits && (winograd || conv2dDirectApplies(g)) && directAct && (e.bias == nullptr || e.biasLen == g.outC)) {
    // Bias and PReLU (one alpha per channel) inside the kernel: the direct kernel's accumulators start at the
    // bias and PReLU runs in registers; Winograd applies both in its output transform.
    std::vector<float> alpha;
    if (e.act == Activation::Prelu) alpha.assign(static_cast<size_t>(g.outC), e.alpha[0]);
    if (e.act == Activation::Prelu && e.alphaLen != 1) std::copy(e.alpha, e.alpha + g.outC, alpha.begin());
    const float* a = alpha.empty() ? nullptr : alpha.data();
    if (winograd) conv2dWinograd(g, x, w, e.bias, out, a, pair);
    else conv2dDirect(g, x, w, e.bias, out, a, pair);
    return;
  }
  if (pair != nullptr) {
    // The GEMM path reads a whole input: assemble the concatenation (what the separate Concat would have stored).
    const int64_t pixels = g.batch * g.inH * g.inW;
    std::vector<float> joined(static_cast<size_t>(g.inSize()));
    const uint32_t* ins[2] = {reinterpret_cast<const uint32_t*>(pair->a), reinterpret_cast<const uint32_t*>(pair->b)};
    const int64_t widths[2] = {pair->ca, pair->cb};
    concatRows(ins, widths, 2, reinterpret_cast<uint32_t*>(joined.data()), pixels);
    return fusedConv(g, joined.data(), nullptr, w, out, e);
  }
  conv2dForward(g, x, w, out);
  applyEpilogue(e, out, g.rows(), g.outC);
}

}  // namespace

/// fusedConv2d(x, w, out, geometry, bias|null, activationCode, preluAlpha|null, leakyreluAlpha)
Napi::Value FusedConv2D(const Napi::CallbackInfo& info) {
  return guard(info, "FusedConv2D", [&] {
    const ConvGeom g = argGeom(info, 3, false);
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "filter"), out = argF32(info, 2, "out");
    requireLength(x, g.inSize(), "x");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    fusedConv(g, x.data, nullptr, w.data, out.data, argEpilogue(info, 4, g.outC));
  });
}

/// fusedConv2dConcat(a, b, w, out, geometry, bias|null, activationCode, preluAlpha|null, leakyreluAlpha): as
/// fusedConv2d on the channel concatenation of a and b (geometry's inC = their channel counts' sum), never stored.
Napi::Value FusedConv2DConcat(const Napi::CallbackInfo& info) {
  return guard(info, "fusedConv2dConcat", [&] {
    const ConvGeom g = argGeom(info, 4, false);
    F32 a = argF32(info, 0, "a"), b = argF32(info, 1, "b"), w = argF32(info, 2, "filter"), out = argF32(info, 3, "out");
    const int64_t pixels = g.batch * g.inH * g.inW;
    if (pixels == 0 || a.length % pixels != 0 || a.length / pixels >= g.inC) throw std::invalid_argument("a: expected [B,H,W,ca] with 0 < ca < inC");
    const ChannelPair pair{a.data, a.length / pixels, b.data, g.inC - a.length / pixels};
    requireLength(b, pixels * pair.cb, "b");
    requireLength(w, g.taps() * g.outC, "filter");
    requireLength(out, g.outSize(), "out");
    fusedConv(g, nullptr, &pair, w.data, out.data, argEpilogue(info, 5, g.outC));
  });
}

}  // namespace diffiqa
