// Multi-threaded float32 elementwise and reduction kernels for the memory-bound ops that dominate a UNet step
// after the convolutions (PERF-NOTES.md: elementwise 26%, reductions 10% of a PyTorch training step).
#pragma once
#include <cstdint>

namespace diffiqa {

/// Codes shared with src/backend/kernels/elementwise-kernels.ts.
enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2, Div = 3, SquaredDifference = 4, Max = 5, Min = 6 };
enum class UnaryOp : int { Sigmoid = 0, Exp = 1, Square = 2, Sqrt = 3, Rsqrt = 4, Neg = 5, Relu = 6, Tanh = 7, Log = 8, Abs = 9, Erf = 10 };

/// out = a (op) b over a collapsed broadcast: `rank` dims of `shape`, element strides of a and b (0 = broadcast).
/// The innermost stride of each operand must be 0 or 1.
void binaryOp(BinaryOp op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
              float* out, const int64_t* shape, int rank);

void unaryOp(UnaryOp op, const float* x, float* out, int64_t n);

/// Scalars of one Adam update, each already rounded to float32 as tfjs's scalar tensors are.
struct AdamScalars {
  float gradScale;  // 1 means no clipping multiply
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2;
  float bc2;       // sqrt(1 - beta2^t)
  float eps;
  float stepSize;  // lr / (1 - beta1^t)
};

/// One Adam update over n elements, the same float32 operations in the same order as the tfjs composite
/// (src/backend/ops/adam.ts), none contracted into FMAs: g' = g*s; m' = m*b1 + g'*(1-b1);
/// v' = v*b2 + (g'*g')*(1-b2); p' = p - (m' / (sqrt(v')/bc2 + eps)) * stepSize.
void adamUpdate(const float* p, const float* g, const float* m, const float* v, const AdamScalars& s, float* pOut,
                float* mOut, float* vOut, int64_t n);

/// out[o, i] = sum_r x[o, r, i] (divided by `red` when `mean`), accumulated in double like tfjs cpu.
void reduceSum(const float* x, float* out, int64_t outer, int64_t red, int64_t inner, bool mean);

}  // namespace diffiqa
