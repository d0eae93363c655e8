// Fused forward/backward kernels for the DifFIQA UNet's memory-bound layers, each replacing a chain of 4-10 tfjs
// kernels that would each stream the whole activation through memory (src/backend/ops/unet-ops.ts):
// SiLU, the channel LayerNorm of the attention blocks, and the core of LinearAttention.
#pragma once
#include <cstdint>

namespace diffiqa {

/// y = x * sigmoid(x).
void siluForward(const float* x, float* y, int64_t n);
/// dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x).
void siluBackward(const float* dy, const float* x, float* dx, int64_t n);

/// Per row of C channels: y = (x - mean) * rstd * g, rstd = 1 / sqrt(biased var + eps); saves mean and rstd [rows].
/// With `residual` ([rows, C]) y = that + residual, rounded as a separate add.
void channelNormForward(const float* x, const float* g, float* y, float* mean, float* rstd, int64_t rows, int64_t C,
                        float eps, const float* residual = nullptr);
/// dx and dg (summed over rows) from dy and the saved statistics.
void channelNormBackward(const float* dy, const float* x, const float* g, const float* mean, const float* rstd,
                         float* dx, float* dg, int64_t rows, int64_t C);

/// Linear attention over qkv [B, N, 3*H*D] (channels q|k|v, then head, then feature):
/// q = softmax_D(q) * D^-1/2, k = softmax_N(k), v = v / N, ctx[h] = k[h]^T v[h] (D x D), out[n, h*D + e] = q[n,h] ctx[h].
void linearAttentionForward(const float* qkv, float* out, int64_t B, int64_t N, int64_t H, int64_t D);

/// linearAttentionForward of qkv = x w, the bias-free 1x1 projection of x [B, N, C] by w [C, 3 * H * D], without
/// storing qkv: each block of rows is projected where it is used. The same bits as projecting first (for every row
/// count, sgemm sums an element the same way) while a [B, N, 3 * H * D] tensor is never written or read back.
void linearAttentionProjectedForward(const float* x, const float* w, float* out, int64_t B, int64_t N, int64_t C,
                                     int64_t H, int64_t D);
/// The rest of a LinearAttention block after the core: y = channelNorm(a wo + bias) * g (+ residual), a the core's
/// output [rows, H * D], wo [H * D, C], bias, g [C], residual [rows, C] or null (to_out.0, to_out.1 and the skip).
struct AttentionOutput {
  const float* w;
  const float* bias;
  const float* g;
  const float* residual;
  int64_t C;
  float eps;
};

/// linearAttentionProjectedForward followed by `o` on every block of rows while it is in cache, into out [B, N, o.C]:
/// neither the core's output nor the projection is stored. The same bits as the separate ops: the projection is
/// the 1x1 convolution's own kernel (its direct tiles, accumulators starting at the bias) and the norm the channel
/// norm's rows; where the convolution would not take its direct kernel (portable ISA, wide outputs) the separate
/// steps run here one after the other.
void linearAttentionBlockForward(const float* x, const float* w, const AttentionOutput& o, float* out, int64_t B,
                                 int64_t N, int64_t C, int64_t H, int64_t D);
/// dqkv [B, N, 3*H*D] from dout [B, N, H*D].
void linearAttentionBackward(const float* dout, const float* qkv, float* dqkv, int64_t B, int64_t N, int64_t H,
                             int64_t D);

/// Softmax attention per group g < G (batch x heads): out[g] = softmax(scale * q[g] k[g]^T) v[g], q, k, v and out
/// [G, N, D] row-major, without materialising the N x N matrix.
void attentionForward(const float* q, const float* k, const float* v, float* out, int64_t G, int64_t N, int64_t D,
                      float scale);

/// Gradients of attentionForward: dq, dk, dv [G, N, D] from dout, recomputing the attention rows (no N x N storage).
void attentionBackward(const float* q, const float* k, const float* v, const float* dout, float* dq, float* dk,
                       float* dv, int64_t G, int64_t N, int64_t D, float scale);

}  // namespace diffiqa
