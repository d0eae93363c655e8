// Elementwise kernels: rows of the collapsed broadcast shape are independent tasks, and the innermost loop is
// specialised on whether each operand is contiguous or broadcast so that it vectorises (compiled per ISA,
// picked at run time: isa.h). exp (and sigmoid/tanh built on it) uses a vectorisable Cephes-style exp
// (relative error ~2e-7); the other unary maths uses float libm functions (<= 1 ulp), within the 1e-5 contract.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "elementwise.h"
#include "fast_math.h"
#include "isa.h"
#include "row_sums.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

constexpr int64_t kMinChunk = 16384;  // elements per task: smaller tensors are not worth a thread hand-off

template <BinaryOp OP>
inline float apply(float x, float y) {
  if constexpr (OP == BinaryOp::Add) return x + y;
  if constexpr (OP == BinaryOp::Sub) return x - y;
  if constexpr (OP == BinaryOp::Mul) return x * y;
  if constexpr (OP == BinaryOp::Div) return x / y;
  if constexpr (OP == BinaryOp::SquaredDifference) return (x - y) * (x - y);
  // JavaScript's Math.max / Math.min, as tfjs cpu computes them: NaN wins, and +0 is larger than -0.
  if constexpr (OP == BinaryOp::Max) {
    if (x != x || y != y) return x + y;
    return x > y || (x == y && !std::signbit(x)) ? x : y;
  }
  if constexpr (OP == BinaryOp::Min) {
    if (x != x || y != y) return x + y;
    return x < y || (x == y && std::signbit(x)) ? x : y;
  }
  return 0.f;
}

template <BinaryOp OP>
DIFFIQA_KERNEL_BODY void rowKernelBody(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; ++j) out[j] = apply<OP>(a[j], b[j]);
  } else if (sa == 1) {
    const float y = b[0];
    for (int64_t j = 0; j < n; ++j) out[j] = apply<OP>(a[j], y);
  } else if (sb == 1) {
    const float x = a[0];
    for (int64_t j = 0; j < n; ++j) out[j] = apply<OP>(x, b[j]);
  } else {
    const float v = apply<OP>(a[0], b[0]);
    for (int64_t j = 0; j < n; ++j) out[j] = v;
  }
}
DIFFIQA_MULTIVERSION_TEMPLATE(BinaryOp OP, OP, rowKernel, (const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n), (a, sa, b, sb, out, n))

template <BinaryOp OP>
void binaryTyped(const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out,
                 const int64_t* shape, int rank) {
  const int64_t inner = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= shape[d];
  const int64_t rowsPerTask = std::max<int64_t>(1, kMinChunk / std::max<int64_t>(1, inner));
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t ao = 0, bo = 0, rest = r;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t c = rest % shape[d];
        rest /= shape[d];
        ao += c * as[d];
        bo += c * bs[d];
      }
      rowKernel<OP>(a + ao, as[rank - 1], b + bo, bs[rank - 1], out + r * inner, inner);
    }
  }, 4, rowsPerTask);
}

inline float fastTanh(float x) {
  // 1 - 2 / (e^{2x} + 1) loses relative accuracy near 0, where the odd series is exact to float precision.
  const float big = 1.f - 2.f / (fastExp(2.f * x) + 1.f);
  const float x2 = x * x;
  const float small = x * (1.f + x2 * (-1.f / 3.f + x2 * (2.f / 15.f)));
  return (x < 0.01f && x > -0.01f) ? small : big;
}

/// erf as tfjs cpu computes it (Abramowitz-Stegun 7.1.26, in double, sign(x) * (1 - poly(t) t e^{-x^2})), so
/// results round to the same float32.
inline float erfAs(float xf) {
  const double x = xf;
  const double sign = x > 0 ? 1.0 : (x < 0 ? -1.0 : x);  // Math.sign: keeps 0, -0 and NaN
  const double v = std::fabs(x);
  const double t = 1.0 / (1.0 + 0.3275911 * v);
  const double poly = ((((1.061405429 * t + -1.453152027) * t) + 1.421413741) * t + -0.284496736) * t + 0.254829592;
  return static_cast<float>(sign * (1.0 - poly * t * std::exp(-v * v)));
}

template <UnaryOp OP>
DIFFIQA_KERNEL_BODY void unaryKernelBody(const float* x, float* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float v = x[j];
    if constexpr (OP == UnaryOp::Sigmoid) out[j] = 1.f / (1.f + fastExp(-v));
    if constexpr (OP == UnaryOp::Exp) out[j] = fastExp(v);
    if constexpr (OP == UnaryOp::Square) out[j] = v * v;
    if constexpr (OP == UnaryOp::Sqrt) out[j] = sqrtf(v);
    if constexpr (OP == UnaryOp::Rsqrt) out[j] = 1.f / sqrtf(v);
    if constexpr (OP == UnaryOp::Neg) out[j] = -v;
    if constexpr (OP == UnaryOp::Relu) out[j] = v < 0.f ? 0.f : v;
    if constexpr (OP == UnaryOp::Tanh) out[j] = fastTanh(v);
    if constexpr (OP == UnaryOp::Log) out[j] = logf(v);
    if constexpr (OP == UnaryOp::Abs) out[j] = fabsf(v);
    if constexpr (OP == UnaryOp::Erf) out[j] = erfAs(v);
  }
}
DIFFIQA_MULTIVERSION_TEMPLATE(UnaryOp OP, OP, unaryKernel, (const float* x, float* out, int64_t n), (x, out, n))

template <UnaryOp OP>
void unaryTyped(const float* x, float* out, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) { unaryKernel<OP>(x + i0, out + i0, i1 - i0); }, 4,
                     kMinChunk);
}

/// acc[j] += sum over `rows` rows of x (row stride n) of x[r * n + j], rows in order (row_sums.h).
DIFFIQA_KERNEL_BODY void accumulateRowsBody(double* acc, const float* x, int64_t rows, int64_t n) {
  rowSums<1>(rows, n, acc, [x](int64_t i, double* s, int64_t) { s[0] += x[i]; });
}
DIFFIQA_MULTIVERSION(accumulateRows, (double* acc, const float* x, int64_t rows, int64_t n), (acc, x, rows, n))

double sumContiguous(const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t j = 0; j < n; ++j) s += x[j];
  return s;
}

}  // namespace

void binaryOp(BinaryOp op, const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out,
              const int64_t* shape, int rank) {
  if (rank < 1) throw std::invalid_argument("binaryOp: rank must be >= 1");
  if ((as[rank - 1] != 0 && as[rank - 1] != 1) || (bs[rank - 1] != 0 && bs[rank - 1] != 1))
    throw std::invalid_argument("binaryOp: innermost strides must be 0 or 1");
  switch (op) {
    case BinaryOp::Add: return binaryTyped<BinaryOp::Add>(a, as, b, bs, out, shape, rank);
    case BinaryOp::Sub: return binaryTyped<BinaryOp::Sub>(a, as, b, bs, out, shape, rank);
    case BinaryOp::Mul: return binaryTyped<BinaryOp::Mul>(a, as, b, bs, out, shape, rank);
    case BinaryOp::Div: return binaryTyped<BinaryOp::Div>(a, as, b, bs, out, shape, rank);
    case BinaryOp::SquaredDifference: return binaryTyped<BinaryOp::SquaredDifference>(a, as, b, bs, out, shape, rank);
    case BinaryOp::Max: return binaryTyped<BinaryOp::Max>(a, as, b, bs, out, shape, rank);
    case BinaryOp::Min: return binaryTyped<BinaryOp::Min>(a, as, b, bs, out, shape, rank);
  }
  throw std::invalid_argument("binaryOp: unknown op");
}

void unaryOp(UnaryOp op, const float* x, float* out, int64_t n) {
  switch (op) {
    case UnaryOp::Sigmoid: return unaryTyped<UnaryOp::Sigmoid>(x, out, n);
    case UnaryOp::Exp: return unaryTyped<UnaryOp::Exp>(x, out, n);
    case UnaryOp::Square: return unaryTyped<UnaryOp::Square>(x, out, n);
    case UnaryOp::Sqrt: return unaryTyped<UnaryOp::Sqrt>(x, out, n);
    case UnaryOp::Rsqrt: return unaryTyped<UnaryOp::Rsqrt>(x, out, n);
    case UnaryOp::Neg: return unaryTyped<UnaryOp::Neg>(x, out, n);
    case UnaryOp::Relu: return unaryTyped<UnaryOp::Relu>(x, out, n);
    case UnaryOp::Tanh: return unaryTyped<UnaryOp::Tanh>(x, out, n);
    case UnaryOp::Log: return unaryTyped<UnaryOp::Log>(x, out, n);
    case UnaryOp::Abs: return unaryTyped<UnaryOp::Abs>(x, out, n);
    case UnaryOp::Erf: return unaryTyped<UnaryOp::Erf>(x, out, n);
  }
  throw std::invalid_argument("unaryOp: unknown op");
}

namespace {

__attribute__((always_inline, optimize("fp-contract=off"))) inline void adamRangeBody(const float* p, const float* g, const float* m, const float* v, const AdamScalars& s, float* pOut, float* mOut, float* vOut, int64_t n) {
  const bool scaled = s.gradScale != 1.f;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = scaled ? g[i] * s.gradScale : g[i];
    const float mi = m[i] * s.beta1 + gi * s.oneMinusBeta1;
    const float sq = gi * gi;
    const float vi = v[i] * s.beta2 + sq * s.oneMinusBeta2;
    const float denom = sqrtf(vi) / s.bc2 + s.eps;
    const float step = (mi / denom) * s.stepSize;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = p[i] - step;
  }
}
DIFFIQA_MULTIVERSION_ATTR(__attribute__((optimize("fp-contract=off"))), adamRange, (const float* p, const float* g, const float* m, const float* v, const AdamScalars& s, float* pOut, float* mOut, float* vOut, int64_t n), (p, g, m, v, s, pOut, mOut, vOut, n))

}  // namespace

void adamUpdate(const float* p, const float* g, const float* m, const float* v, const AdamScalars& s, float* pOut,
                float* mOut, float* vOut, int64_t n) {
  pool().parallelFor(n, [&](int64_t i0, int64_t i1, int) {
    adamRange(p + i0, g + i0, m + i0, v + i0, s, pOut + i0, mOut + i0, vOut + i0, i1 - i0);
  }, 4, kMinChunk);
}

void reduceSum(const float* x, float* out, int64_t outer, int64_t red, int64_t inner, bool mean) {
  const double scale = mean && red > 0 ? 1.0 / static_cast<double>(red) : 1.0;
  ThreadPool& tp = pool();
  const int64_t total = outer * red * inner;
  // Enough independent outputs (or too little work): one task per block of outer rows.
  if (outer >= 4 * tp.size() || total < 4 * kMinChunk) {
    tp.parallelFor(outer, [&](int64_t o0, int64_t o1, int) {
      std::vector<double> acc(static_cast<size_t>(inner));
      for (int64_t o = o0; o < o1; ++o) {
        const float* base = x + o * red * inner;
        if (inner == 1) {
          out[o] = static_cast<float>(sumContiguous(base, red) * scale);
          continue;
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        accumulateRows(acc.data(), base, red, inner);
        for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = static_cast<float>(acc[i] * scale);
      }
    }, 4, std::max<int64_t>(1, kMinChunk / std::max<int64_t>(1, red * inner)));
    return;
  }
  // Few outputs: split the reduced axis into chunks with partial sums, then combine in chunk order.
  const int64_t chunks = std::min<int64_t>(red, 4 * tp.size());
  std::vector<double> part(static_cast<size_t>(chunks * outer * inner), 0.0);
  tp.run(chunks, [&](int64_t c, int) {
    const int64_t r0 = c * red / chunks, r1 = (c + 1) * red / chunks;
    double* acc = part.data() + c * outer * inner;
    for (int64_t o = 0; o < outer; ++o) {
      const float* base = x + o * red * inner;
      if (inner == 1) {
        acc[o] += sumContiguous(base + r0, r1 - r0);
      } else {
        accumulateRows(acc + o * inner, base + r0 * inner, r1 - r0, inner);
      }
    }
  });
  for (int64_t j = 0; j < outer * inner; ++j) {
    double s = 0.0;
    for (int64_t c = 0; c < chunks; ++c) s += part[c * outer * inner + j];
    out[j] = static_cast<float>(s * scale);
  }
}

}  // namespace diffiqa
