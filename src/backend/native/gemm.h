// Blocked, packed single-precision GEMM with run-time ISA dispatch (AVX-512, AVX2+FMA, portable scalar).
// C[M,N] (=|+=) A[M,K] * B[K,N], all row-major with leading dimensions. A comes from an ASource so that a
// convolution can pack its im2col rows straight from the NHWC input (implicit GEMM) without materialising them.
#pragma once
#include <cstdint>
#include <string>

namespace diffiqa {

/// Supplies the left operand in MR-row micro-panels, k-major and row-interleaved, which is the order the
/// micro-kernel broadcasts them in: writes dst[k * mr + r] = A(i0 + r, k0 + k) for r < rows, k < kc, and zeros
/// for rows <= r < mr (the micro-kernel always computes full mr-row panels).
class ASource {
 public:
  virtual ~ASource() = default;
  virtual void pack(int64_t i0, int rows, int64_t k0, int kc, float* dst, int mr) const = 0;
};

/// Interleaves `nrows` row-major source rows (rows[r][k], k < kc) into one k-major micro-panel as ASource::pack
/// describes (zero rows up to mr). Shared by every ASource whose rows are contiguous.
void packRowsKMajor(const float* const* rows, int nrows, int kc, float* dst, int mr);

/// A dense row-major matrix (or its transpose) as an ASource: A(i,k) = trans ? a[k*lda+i] : a[i*lda+k].
class DenseA final : public ASource {
 public:
  DenseA(const float* a, int64_t lda, bool trans) : a_(a), lda_(lda), trans_(trans) {}
  void pack(int64_t i0, int rows, int64_t k0, int kc, float* dst, int mr) const override;

 private:
  const float* a_;
  int64_t lda_;
  bool trans_;
};

/// Supplies the right operand in NR-column panels: writes dst[k * nr + j] = B(k0 + k, j0 + j) for j < cols and
/// zeros for cols <= j < nr.
class BSource {
 public:
  virtual ~BSource() = default;
  virtual void pack(int64_t k0, int kc, int64_t j0, int cols, int nr, float* dst) const = 0;
  /// Packs all ceil(nc / nr) panels of columns [j0, j0 + nc) (panel p at dst + p * kc * nr). Sources whose rows
  /// are expensive to locate (im2col) override this to walk each row once instead of once per panel.
  virtual void packAll(int64_t k0, int kc, int64_t j0, int64_t nc, int nr, float* dst) const {
    for (int64_t p = 0; p * nr < nc; ++p) {
      const int cols = static_cast<int>(nc - p * nr < nr ? nc - p * nr : nr);
      pack(k0, kc, j0 + p * nr, cols, nr, dst + p * kc * nr);
    }
  }
};

/// B(k,j) = trans ? b[j*ldb+k] : b[k*ldb+j].
class DenseB final : public BSource {
 public:
  DenseB(const float* b, int64_t ldb, bool trans) : b_(b), ldb_(ldb), trans_(trans) {}
  void pack(int64_t k0, int kc, int64_t j0, int cols, int nr, float* dst) const override;

 private:
  const float* b_;
  int64_t ldb_;
  bool trans_;
};

/// The depth block of a product with depth k. Every element of C is summed the same way: a multiply-add chain over
/// each block of this many k in turn, the blocks' sums added to C in order. That order is a function of k alone, not
/// of the row count or the row's position, so a row's result does not depend on its batch (smallM in matmul_impl.cc
/// keeps the same order).
int gemmDepthBlock(int64_t k);

/// C = A*B (accumulate=false) or C += A*B. `parallel` false runs on the calling thread only (used when the
/// caller already parallelises over independent GEMMs).
void sgemm(const ASource& a, const BSource& b, int64_t m, int64_t n, int64_t k, float* c, int64_t ldc,
           bool accumulate, bool parallel = true);

}  // namespace diffiqa
