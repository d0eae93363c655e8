// The diffiqa native addon: registers one entry per kernel plus info()/setIsa() for diagnostics and tests.
#include <napi.h>

#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "gemm.h"
#include "isa.h"
#include "kernels/data_movement_kernels.h"
#include "kernels/kernels.h"
#include "napi_util.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// The version of the functions' argument lists, checked by the loader (native-binding.ts NATIVE_INTERFACE): a build
/// from older sources could silently ignore an argument added since (a residual, say). Bump it with every change
/// to an entry's arguments.
constexpr int kInterface = 2;

/// info() -> { threads, isa, interface }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("interface", Napi::Number::New(info.Env(), kInterface));
  o.Set("threads", Napi::Number::New(info.Env(), pool().size()));
  o.Set("isa", Napi::String::New(info.Env(), activeIsa()));
  return o;
}

/// setIsa(name) -> the instruction set every kernel now uses (isa.h; "auto" restores the best one).
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "setIsa: expected 'avx512', 'avx2', 'portable' or 'auto'");
  return Napi::String::New(info.Env(), selectIsa(info[0].As<Napi::String>().Utf8Value()));
}

/// glibc malloc policy for tensor-sized blocks. Every tfjs output is a fresh zero-filled ArrayBuffer (calloc); by
/// default glibc serves blocks over its (dynamic) mmap threshold with fresh mappings and trims freed heap tops, so
/// each large output is page-faulted and zeroed by the kernel page by page again, and a 25 MB activation costs
/// ~5 ms before the kernel writes it (a third of a mobileface batch-64 scoring forward). Up to 32 MB (glibc's
/// ceiling for this knob) blocks come from the heap, and up to 256 MB of freed heap top stays mapped for reuse.
/// DIFFIQA_MALLOC_TUNING=0 leaves glibc's defaults.
void tuneMalloc() {
#if defined(__GLIBC__)
  const char* env = std::getenv("DIFFIQA_MALLOC_TUNING");
  if (env != nullptr && env[0] == '0') return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("fusedConv2d", Napi::Function::New(env, FusedConv2D));
  exports.Set("fusedConv2dConcat", Napi::Function::New(env, FusedConv2DConcat));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("depthwiseConv2d", Napi::Function::New(env, DepthwiseConv2dNative));
  exports.Set("fusedDepthwiseConv2d", Napi::Function::New(env, FusedDepthwiseConv2D));
  exports.Set("depthwiseConv2dBackpropInput", Napi::Function::New(env, DepthwiseConv2dNativeBackpropInput));
  exports.Set("depthwiseConv2dBackpropFilter", Napi::Function::New(env, DepthwiseConv2dNativeBackpropFilter));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("fusedBatchMatMul", Napi::Function::New(env, FusedMatMul));
  exports.Set("groupNorm", Napi::Function::New(env, GroupNorm));
  exports.Set("groupNormGrad", Napi::Function::New(env, GroupNormGrad));
  exports.Set("groupNormFilmSilu", Napi::Function::New(env, GroupNormFilmSilu));
  exports.Set("binaryOp", Napi::Function::New(env, Binary));
  exports.Set("unaryOp", Napi::Function::New(env, Unary));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("concatRows", Napi::Function::New(env, ConcatRows));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("resizeNearest", Napi::Function::New(env, ResizeNearestNeighbor));
  exports.Set("resizeNearestGrad", Napi::Function::New(env, ResizeNearestNeighborGrad));
  exports.Set("pow", Napi::Function::New(env, Pow));
  exports.Set("prelu", Napi::Function::New(env, Prelu));
  exports.Set("preluGrad", Napi::Function::New(env, PreluGrad));
  exports.Set("greater", Napi::Function::New(env, Greater));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("fusedBatchNorm", Napi::Function::New(env, FusedBatchNorm));
  exports.Set("silu", Napi::Function::New(env, Silu));
  exports.Set("siluGrad", Napi::Function::New(env, SiluGrad));
  exports.Set("channelNorm", Napi::Function::New(env, ChannelNorm));
  exports.Set("channelNormGrad", Napi::Function::New(env, ChannelNormGrad));
  exports.Set("linearAttention", Napi::Function::New(env, LinearAttention));
  exports.Set("linearAttentionProjected", Napi::Function::New(env, LinearAttentionProjected));
  exports.Set("linearAttentionBlock", Napi::Function::New(env, LinearAttentionBlock));
  exports.Set("linearAttentionGrad", Napi::Function::New(env, LinearAttentionGrad));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionGrad", Napi::Function::New(env, AttentionGrad));
  exports.Set("arc4Normals", Napi::Function::New(env, Arc4Normals));
  return exports;
}

}  // namespace

}  // namespace diffiqa

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return diffiqa::Init(env, exports); }

NODE_API_MODULE(diffiqa_native, InitAddon)
