#include <stdexcept>
#include <utility>

#include "../napi_util.h"
#include "../unet_ops.h"
#include "kernels.h"

namespace diffiqa {

namespace {
std::vector<int64_t> argAttnDims(const Napi::CallbackInfo& info, size_t index) {
  const std::vector<int64_t> d = argInts(info, index, 4, "dims");
  if (d[0] < 0 || d[1] < 1 || d[2] < 1 || d[3] < 1) throw std::invalid_argument("dims: expected [B>=0, N>=1, H>=1, D>=1]");
  return d;
}
}  // namespace

/// silu(x, y)
Napi::Value Silu(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaSilu", [&] {
    F32 x = argF32(info, 0, "x"), y = argF32(info, 1, "y");
    requireLength(y, x.length, "y");
    siluForward(x.data, y.data, x.length);
  });
}

/// siluGrad(dy, x, dx)
Napi::Value SiluGrad(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaSiluGrad", [&] {
    F32 dy = argF32(info, 0, "dy"), x = argF32(info, 1, "x"), dx = argF32(info, 2, "dx");
    requireLength(dy, x.length, "dy");
    requireLength(dx, x.length, "dx");
    siluBackward(dy.data, x.data, dx.data, x.length);
  });
}

/// channelNorm(x, g, y, mean, rstd, channels, eps, residual | null)
Napi::Value ChannelNorm(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaChannelNorm", [&] {
    F32 x = argF32(info, 0, "x"), g = argF32(info, 1, "g"), y = argF32(info, 2, "y");
    F32 mean = argF32(info, 3, "mean"), rstd = argF32(info, 4, "rstd");
    const int64_t C = static_cast<int64_t>(argNumber(info, 5, "channels"));
    const double eps = argNumber(info, 6, "eps");
    if (C < 1 || x.length % C != 0 || !(eps >= 0)) throw std::invalid_argument("channels/eps: invalid");
    const int64_t rows = x.length / C;
    requireLength(g, C, "g");
    requireLength(y, x.length, "y");
    requireLength(mean, rows, "mean");
    requireLength(rstd, rows, "rstd");
    F32 residual = argOptionalF32(info, 7, "residual");
    if (residual.data != nullptr) requireLength(residual, x.length, "residual");
    channelNormForward(x.data, g.data, y.data, mean.data, rstd.data, rows, C, static_cast<float>(eps), residual.data);
  });
}

/// channelNormGrad(dy, x, g, mean, rstd, dx, dg, channels)
Napi::Value ChannelNormGrad(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaChannelNormGrad", [&] {
    F32 dy = argF32(info, 0, "dy"), x = argF32(info, 1, "x"), g = argF32(info, 2, "g");
    F32 mean = argF32(info, 3, "mean"), rstd = argF32(info, 4, "rstd");
    F32 dx = argF32(info, 5, "dx"), dg = argF32(info, 6, "dg");
    const int64_t C = static_cast<int64_t>(argNumber(info, 7, "channels"));
    if (C < 1 || x.length % C != 0) throw std::invalid_argument("channels: invalid");
    const int64_t rows = x.length / C;
    requireLength(dy, x.length, "dy");
    requireLength(dx, x.length, "dx");
    requireLength(g, C, "g");
    requireLength(dg, C, "dg");
    requireLength(mean, rows, "mean");
    requireLength(rstd, rows, "rstd");
    channelNormBackward(dy.data, x.data, g.data, mean.data, rstd.data, dx.data, dg.data, rows, C);
  });
}

/// linearAttention(qkv, out, [B, N, H, D])
Napi::Value LinearAttention(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaLinearAttention", [&] {
    F32 qkv = argF32(info, 0, "qkv"), out = argF32(info, 1, "out");
    const std::vector<int64_t> d = argAttnDims(info, 2);
    requireLength(qkv, d[0] * d[1] * 3 * d[2] * d[3], "qkv");
    requireLength(out, d[0] * d[1] * d[2] * d[3], "out");
    linearAttentionForward(qkv.data, out.data, d[0], d[1], d[2], d[3]);
  });
}

/// linearAttentionProjected(x, w, out, [B, N, H, D], C): the LinearAttention of the 1x1 projection x w
Napi::Value LinearAttentionProjected(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaLinearAttentionProjected", [&] {
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "w"), out = argF32(info, 2, "out");
    const std::vector<int64_t> d = argAttnDims(info, 3);
    const double c = argNumber(info, 4, "channels");
    if (c < 1 || c != static_cast<double>(static_cast<int64_t>(c))) throw std::invalid_argument("channels: expected a positive integer");
    const int64_t C = static_cast<int64_t>(c);
    requireLength(x, d[0] * d[1] * C, "x");
    requireLength(w, C * 3 * d[2] * d[3], "w");
    requireLength(out, d[0] * d[1] * d[2] * d[3], "out");
    linearAttentionProjectedForward(x.data, w.data, out.data, d[0], d[1], C, d[2], d[3]);
  });
}

/// linearAttentionBlock(x, w, wo, bias|null, g, residual|null, out, [B, N, H, D], channels, outChannels, eps)
Napi::Value LinearAttentionBlock(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaLinearAttentionBlock", [&] {
    F32 x = argF32(info, 0, "x"), w = argF32(info, 1, "w"), wo = argF32(info, 2, "wo");
    F32 bias = argOptionalF32(info, 3, "bias"), g = argF32(info, 4, "g"), res = argOptionalF32(info, 5, "residual");
    F32 out = argF32(info, 6, "out");
    const std::vector<int64_t> d = argAttnDims(info, 7);
    const auto count = [&](size_t i, const char* name) {
      const double v = argNumber(info, i, name);
      if (v < 1 || v != static_cast<double>(static_cast<int64_t>(v))) throw std::invalid_argument(std::string(name) + ": expected a positive integer");
      return static_cast<int64_t>(v);
    };
    const int64_t C = count(8, "channels"), OC = count(9, "outChannels"), rows = d[0] * d[1], hd = d[2] * d[3];
    requireLength(x, rows * C, "x");
    requireLength(w, C * 3 * hd, "w");
    requireLength(wo, hd * OC, "wo");
    if (bias.data != nullptr) requireLength(bias, OC, "bias");
    requireLength(g, OC, "g");
    if (res.data != nullptr) requireLength(res, rows * OC, "residual");
    requireLength(out, rows * OC, "out");
    const AttentionOutput o{wo.data, bias.data, g.data, res.data, OC, static_cast<float>(argNumber(info, 10, "eps"))};
    linearAttentionBlockForward(x.data, w.data, o, out.data, d[0], d[1], C, d[2], d[3]);
  });
}

/// linearAttentionGrad(dout, qkv, dqkv, [B, N, H, D])
Napi::Value LinearAttentionGrad(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaLinearAttentionGrad", [&] {
    F32 dout = argF32(info, 0, "dout"), qkv = argF32(info, 1, "qkv"), dqkv = argF32(info, 2, "dqkv");
    const std::vector<int64_t> d = argAttnDims(info, 3);
    requireLength(qkv, d[0] * d[1] * 3 * d[2] * d[3], "qkv");
    requireLength(dqkv, qkv.length, "dqkv");
    requireLength(dout, d[0] * d[1] * d[2] * d[3], "dout");
    linearAttentionBackward(dout.data, qkv.data, dqkv.data, d[0], d[1], d[2], d[3]);
  });
}

/// attention(q, k, v, out, [G, N, D], scale)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaAttention", [&] {
    F32 q = argF32(info, 0, "q"), k = argF32(info, 1, "k"), v = argF32(info, 2, "v"), out = argF32(info, 3, "out");
    const std::vector<int64_t> d = argInts(info, 4, 3, "dims");
    if (d[0] < 0 || d[1] < 1 || d[2] < 1) throw std::invalid_argument("dims: expected [G>=0, N>=1, D>=1]");
    const int64_t n = d[0] * d[1] * d[2];
    requireLength(q, n, "q");
    requireLength(k, n, "k");
    requireLength(v, n, "v");
    requireLength(out, n, "out");
    attentionForward(q.data, k.data, v.data, out.data, d[0], d[1], d[2], static_cast<float>(argNumber(info, 5, "scale")));
  });
}

/// attentionGrad(q, k, v, dout, dq, dk, dv, [G, N, D], scale)
Napi::Value AttentionGrad(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaAttentionGrad", [&] {
    F32 q = argF32(info, 0, "q"), k = argF32(info, 1, "k"), v = argF32(info, 2, "v"), dout = argF32(info, 3, "dout");
    F32 dq = argF32(info, 4, "dq"), dk = argF32(info, 5, "dk"), dv = argF32(info, 6, "dv");
    const std::vector<int64_t> d = argInts(info, 7, 3, "dims");
    if (d[0] < 0 || d[1] < 1 || d[2] < 1) throw std::invalid_argument("dims: expected [G>=0, N>=1, D>=1]");
    const int64_t n = d[0] * d[1] * d[2];
    for (const auto& [a, name] : {std::pair<const F32&, const char*>{q, "q"}, {k, "k"}, {v, "v"}, {dout, "dout"},
                                  {dq, "dq"}, {dk, "dk"}, {dv, "dv"}})
      requireLength(a, n, name);
    attentionBackward(q.data, k.data, v.data, dout.data, dq.data, dk.data, dv.data, d[0], d[1], d[2],
                      static_cast<float>(argNumber(info, 8, "scale")));
  });
}

}  // namespace diffiqa
