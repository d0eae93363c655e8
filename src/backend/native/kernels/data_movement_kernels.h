// Node-API entries of the data-movement, softmax, resize, pow, prelu and batch-norm kernels (kept apart from kernels.h, which another
// family owns); registered in addon.cc.
#pragma once
#include <napi.h>

namespace diffiqa {

Napi::Value StridedCopy(const Napi::CallbackInfo& info);
Napi::Value ConcatRows(const Napi::CallbackInfo& info);
Napi::Value Softmax(const Napi::CallbackInfo& info);
Napi::Value ResizeNearestNeighbor(const Napi::CallbackInfo& info);
Napi::Value ResizeNearestNeighborGrad(const Napi::CallbackInfo& info);
Napi::Value Pow(const Napi::CallbackInfo& info);
Napi::Value Prelu(const Napi::CallbackInfo& info);
Napi::Value PreluGrad(const Napi::CallbackInfo& info);
Napi::Value Greater(const Napi::CallbackInfo& info);
Napi::Value Select(const Napi::CallbackInfo& info);
Napi::Value FusedBatchNorm(const Napi::CallbackInfo& info);

}  // namespace diffiqa
