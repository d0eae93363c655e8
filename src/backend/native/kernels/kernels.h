// Thin Node-API entries, one per tfjs kernel: each unpacks and checks its arguments, then calls a shared *_impl.
#pragma once
#include <napi.h>

#include "../conv.h"

namespace diffiqa {

/// Reads a 15-integer geometry argument (ConvGeom order) and validates it.
ConvGeom argGeom(const Napi::CallbackInfo& info, size_t index, bool depthwise);

Napi::Value Conv2D(const Napi::CallbackInfo& info);
Napi::Value FusedConv2D(const Napi::CallbackInfo& info);
Napi::Value FusedConv2DConcat(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info);
Napi::Value DepthwiseConv2dNative(const Napi::CallbackInfo& info);
Napi::Value FusedDepthwiseConv2D(const Napi::CallbackInfo& info);
Napi::Value DepthwiseConv2dNativeBackpropInput(const Napi::CallbackInfo& info);
Napi::Value DepthwiseConv2dNativeBackpropFilter(const Napi::CallbackInfo& info);
Napi::Value BatchMatMul(const Napi::CallbackInfo& info);
Napi::Value FusedMatMul(const Napi::CallbackInfo& info);
Napi::Value GroupNorm(const Napi::CallbackInfo& info);
Napi::Value GroupNormGrad(const Napi::CallbackInfo& info);
Napi::Value GroupNormFilmSilu(const Napi::CallbackInfo& info);
Napi::Value Binary(const Napi::CallbackInfo& info);
Napi::Value Unary(const Napi::CallbackInfo& info);
Napi::Value AdamUpdate(const Napi::CallbackInfo& info);
Napi::Value Arc4Normals(const Napi::CallbackInfo& info);
Napi::Value ReduceSum(const Napi::CallbackInfo& info);
Napi::Value Silu(const Napi::CallbackInfo& info);
Napi::Value SiluGrad(const Napi::CallbackInfo& info);
Napi::Value ChannelNorm(const Napi::CallbackInfo& info);
Napi::Value ChannelNormGrad(const Napi::CallbackInfo& info);
Napi::Value LinearAttention(const Napi::CallbackInfo& info);
Napi::Value LinearAttentionProjected(const Napi::CallbackInfo& info);
Napi::Value LinearAttentionBlock(const Napi::CallbackInfo& info);
Napi::Value LinearAttentionGrad(const Napi::CallbackInfo& info);
Napi::Value Attention(const Napi::CallbackInfo& info);
Napi::Value AttentionGrad(const Napi::CallbackInfo& info);

}  // namespace diffiqa
