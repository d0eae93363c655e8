// Node-API entries of the data-movement, softmax, resize and pow kernels (kept apart from kernels.h, which another
// family owns); registered in addon.cc.
#pragma once
#include <napi.h>

namespace diffiqa {

Napi::Value StridedCopy(const Napi::CallbackInfo& info);
Napi::Value Softmax(const Napi::CallbackInfo& info);
Napi::Value ResizeNearestNeighbor(const Napi::CallbackInfo& info);
Napi::Value ResizeNearestNeighborGrad(const Napi::CallbackInfo& info);
Napi::Value Pow(const Napi::CallbackInfo& info);

}  // namespace diffiqa
