{
  "targets": [
    {
      "target_name": "diffiqa_native",
      "sources": [
        "src/backend/native/addon.cc",
        "src/backend/native/napi_util.cc",
        "src/backend/native/thread_pool.cc",
        "src/backend/native/isa.cc",
        "src/backend/native/gemm_impl.cc",
        "src/backend/native/conv_impl.cc",
        "src/backend/native/conv_direct_impl.cc",
        "src/backend/native/conv_winograd_impl.cc",
        "src/backend/native/depthwise_impl.cc",
        "src/backend/native/epilogue_impl.cc",
        "src/backend/native/matmul_impl.cc",
        "src/backend/native/group_norm_impl.cc",
        "src/backend/native/elementwise_impl.cc",
        "src/backend/native/kernels/Conv2D.cc",
        "src/backend/native/kernels/FusedConv2D.cc",
        "src/backend/native/kernels/Conv2DBackpropInput.cc",
        "src/backend/native/kernels/Conv2DBackpropFilter.cc",
        "src/backend/native/kernels/DepthwiseConv2dNative.cc",
        "src/backend/native/kernels/FusedDepthwiseConv2D.cc",
        "src/backend/native/kernels/DepthwiseConv2dNativeBackpropInput.cc",
        "src/backend/native/kernels/DepthwiseConv2dNativeBackpropFilter.cc",
        "src/backend/native/kernels/BatchMatMul.cc",
        "src/backend/native/kernels/GroupNorm.cc",
        "src/backend/native/kernels/Elementwise.cc",
        "src/backend/native/data_movement_impl.cc",
        "src/backend/native/softmax_impl.cc",
        "src/backend/native/resize_impl.cc",
        "src/backend/native/kernels/DataMovement.cc",
        "src/backend/native/kernels/Softmax.cc",
        "src/backend/native/kernels/ResizeNearestNeighbor.cc",
        "src/backend/native/pow_impl.cc",
        "src/backend/native/kernels/Pow.cc",
        "src/backend/native/prelu_bn_impl.cc",
        "src/backend/native/kernels/PreluBatchNorm.cc",
        "src/backend/native/unet_ops_impl.cc",
        "src/backend/native/kernels/UnetOps.cc",
        "src/backend/native/random_impl.cc",
        "src/backend/native/kernels/Random.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-O0"],
      "cflags": ["-O3"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fno-trapping-math", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
