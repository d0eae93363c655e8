// PReLU (and the Greater/Select pair its tfjs gradient runs) and inference-form batch norm, which together took
// half of an FR backbone training step on `native` once the copies were native (tfjs cpu: per-element broadcast
// index arithmetic, single-threaded).
#pragma once
#include <cstdint>

namespace diffiqa {

/// out[i] = x[i] < 0 ? alpha[i % alphaLen] * x[i] : x[i] (alpha along the last axis, or one value).
void preluChannels(const float* x, const float* alpha, int64_t alphaLen, float* out, int64_t n);

/// The PReLU gradient in one pass, with tfjs's mask (x > 0): dx[i] = x[i] > 0 ? dy[i] : alpha * dy[i], and
/// dalpha[alphaLen] = sum over the other axes of (x > 0 ? 0 : dy * x), accumulated in double per thread.
void preluGrad(const float* x, const float* dy, const float* alpha, int64_t alphaLen, float* dx, float* dalpha,
               int64_t n);

/// out[i] = a[i] > b[bStride ? i : 0] (bStride 0 or 1), as 0/1 bytes like tfjs bool tensors.
void greaterThan(const float* a, const float* b, int64_t bStride, uint8_t* out, int64_t n);

/// out[i] = cond[i] == 1 ? t[i] : e[i] (32-bit words, so float32 and int32 alike).
void selectWords(const uint8_t* cond, const uint32_t* t, const uint32_t* e, uint32_t* out, int64_t n);

/// out[i] = offset[i % Lo] + (x[i] - mean[i % Lm]) * scale[i % Ls] / sqrt(variance[i % Lv] + eps), in double in
/// tfjs cpu's operation order (so results are identical); a null scale is 1 and a null offset 0.
void batchNormWrap(const float* x, int64_t n, const float* mean, int64_t lm, const float* variance, int64_t lv,
                   const float* scale, int64_t ls, const float* offset, int64_t lo, double eps, float* out);

}  // namespace diffiqa
