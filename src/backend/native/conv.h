// NHWC convolution geometry and the shared maths behind Conv2D / DepthwiseConv2dNative and their gradients.
#pragma once
#include <cstdint>

#include "epilogue.h"

namespace diffiqa {

/// Geometry as tfjs's computeConv2DInfo describes it (padTop/padLeft resolved from 'same'/'valid'/explicit).
/// For depthwise convolutions outC = inC * channel multiplier.
struct ConvGeom {
  int64_t batch, inH, inW, inC, outH, outW, outC, fH, fW, strideH, strideW, dilH, dilW, padTop, padLeft;
  int64_t inSize() const { return batch * inH * inW * inC; }
  int64_t outSize() const { return batch * outH * outW * outC; }
  /// Rows of the im2col matrix (output pixels) and its width (filter taps x input channels).
  int64_t rows() const { return batch * outH * outW; }
  int64_t taps() const { return fH * fW * inC; }
  bool isPointwise() const {
    return fH == 1 && fW == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && outH == inH &&
           outW == inW;
  }
};

/// An NHWC input given as the channel concatenation of two tensors of the same batch and size: a with ca channels, then
/// b with cb (ca + cb = inC). The direct and Winograd kernels read it where they read their input (the band copy, the
/// input transform), so the concatenation is never stored.
struct ChannelPair {
  const float* a;
  int64_t ca;
  const float* b;
  int64_t cb;
};

/// Parses and validates 15 integers in ConvGeom order; throws std::invalid_argument on nonsense.
ConvGeom makeGeom(const int64_t* v, bool depthwise);

/// out[rows, outC] = im2col(x) * w, w in HWIO order ([fH*fW*inC, outC]).
void conv2dForward(const ConvGeom& g, const float* x, const float* w, float* out);
/// True when the direct small-channel kernel (conv_direct_impl.cc) handles `g`: AVX-512, not pointwise, a
/// reduction of at most 9*128 taps x channels; DIFFIQA_CONV_DIRECT=0 turns it off (benchmarks, tests).
bool conv2dDirectApplies(const ConvGeom& g);
/// out = conv(x, w) (+ bias[outC] when not null), then PReLU with alpha[outC] when not null, by the direct kernel;
/// only where conv2dDirectApplies(g).
/// With `pair`, the input is its concatenation and x is not read.
void conv2dDirect(const ConvGeom& g, const float* x, const float* w, const float* bias, float* out,
                  const float* alpha = nullptr, const ChannelPair* pair = nullptr);
/// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated convolutions with 32..256 input and 16..256 output channels in
/// multiples of 16 and at least 256 2x2 output tiles (conv_winograd_impl.cc), on AVX-512 and AVX2;
/// DIFFIQA_CONV_WINOGRAD=0 turns it off, =1 drops the size threshold.
bool conv2dWinogradApplies(const ConvGeom& g);
/// out = conv(x, w) (+ bias[outC] when not null), then PReLU with alpha[outC] when not null; only where
/// conv2dWinogradApplies(g).
/// With `pair` (both channel counts multiples of 16), the input is its concatenation and x is not read.
void conv2dWinograd(const ConvGeom& g, const float* x, const float* w, const float* bias, float* out,
                    const float* alpha = nullptr, const ChannelPair* pair = nullptr);
/// The direct kernel's register tiles as small GEMMs, with no packing (AVX-512 and AVX2 only), `planes` of them: for
/// plane p, out[p * outPlane + r * cols + j] = sum_k a[p * aPlane + r * lda + k] * w[p * wPlane + k * ldw + j] for
/// r < rows, j < cols, each sum from zero (or from bias[j] when given, as conv2dDirect's) over k in order.
/// smallGemmRows(cols) is the tile height: the row count that runs as one full tile per column group.
void smallGemm(const float* a, int64_t lda, int64_t K, const float* w, int64_t ldw, int64_t cols, float* out,
               int64_t rows, int64_t planes = 1, int64_t aPlane = 0, int64_t wPlane = 0, int64_t outPlane = 0,
               const float* bias = nullptr);
int64_t smallGemmRows(int64_t cols);
/// The direct kernel's filter gradient (3x3-like filters, outC <= 64): where conv2dBackpropFilterDirectApplies(g).
bool conv2dBackpropFilterDirectApplies(const ConvGeom& g);
void conv2dBackpropFilterDirect(const ConvGeom& g, const float* x, const float* dy, float* dw);
/// FusedConv2D: out = conv(x, w) + bias, then the activation of `e`, on the kernel that suits g (Winograd, the
/// direct kernel with the epilogue in registers, or the GEMM and an epilogue pass). With `pair` the input is its
/// concatenation and x is not read.
void fusedConv2d(const ConvGeom& g, const float* x, const ChannelPair* pair, const float* w, float* out,
                 const Epilogue& e);
/// dx = col2im(dy * w^T).
void conv2dBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx);
/// dw = im2col(x)^T * dy.
void conv2dBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw);

/// Depthwise: w is [fH, fW, inC, mult]. The forward applies `e` (bias + activation) when given: for multiplier 1
/// on AVX-512, bias/ReLU/PReLU in registers before the store; otherwise as a pass over the output.
void depthwiseForward(const ConvGeom& g, const float* x, const float* w, float* out, const Epilogue* e = nullptr);
void depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx);
void depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw);

}  // namespace diffiqa
