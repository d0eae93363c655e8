// GroupNorm over NHWC activations (METHOD.md UNet blocks use it after every convolution).
#pragma once
#include <cstdint>

namespace diffiqa {

struct GroupNormGeom {
  int64_t batch, pixels, channels, groups;
  double eps;
};

/// y = (x - mean[b,g]) * rstd[b,g] * gamma[c] + beta[c]; also writes mean and rstd ([batch, groups]).
/// With filmScale/filmShift ([batch, channels]) the UNet block's FiLM follows: y = y * (1 + filmScale) + filmShift,
/// and with `silu` then y = y * sigmoid(y), then + residual[i] where one is given (the ResNet block's skip); all in
/// the one sweep over x.
void groupNormForward(const GroupNormGeom& g, const float* x, const float* gamma, const float* beta, float* y,
                      float* mean, float* rstd, const float* filmScale = nullptr, const float* filmShift = nullptr,
                      bool silu = false, const float* residual = nullptr);

/// Gradients of the forward above given dy and the saved mean/rstd.
void groupNormBackward(const GroupNormGeom& g, const float* dy, const float* x, const float* gamma,
                       const float* mean, const float* rstd, float* dx, float* dgamma, float* dbeta);

}  // namespace diffiqa
