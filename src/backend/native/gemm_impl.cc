// SGEMM in the BLIS style with run-time ISA dispatch.
//   jc: NC columns of B, packed once for the whole depth (all KC blocks) by all threads;
//   tasks (row block of MC rows x column chunk) in one parallel region, each looping over the KC blocks: pack its
//   A block as k-major MR-interleaved micro-panels (L2-resident), then for each NR-wide B micro-panel (L1-resident)
//   stream the A micro-panels through the MR x NR register-blocked micro-kernel.
// Edge tiles are handled inside the micro-kernels (row count, column masks), never through a bounce buffer.
// Accumulation is float32.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// C[rows x cols] (+)= Apanel[kc x MR] (k-major) * Bpanel[kc x NR] (k-major); rows <= MR, cols <= NR.
using MicroKernel = void (*)(int kc, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols,
                             bool add);

struct KernelInfo {
  const char* name;
  int mr;
  int nr;
  MicroKernel fn;
};

template <int MR, int NR>
void kernelScalar(int kc, const float* a, const float* b, float* c, int64_t ldc, int rows, int cols, bool add) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[r];
      for (int j = 0; j < NR; ++j) acc[r][j] += av * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int r = 0; r < rows; ++r) {
    float* row = c + r * ldc;
    for (int j = 0; j < cols; ++j) row[j] = add ? row[j] + acc[r][j] : acc[r][j];
  }
}

__attribute__((target("avx2,fma"))) void kernelAvx2(int kc, const float* a, const float* b, float* c, int64_t ldc,
                                                     int rows, int cols, bool add) {
  constexpr int MR = 6;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    a += MR;
    b += 16;
  }
  if (rows == MR && cols == 16) {
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      float* row = c + r * ldc;
      if (add) {
        acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_loadu_ps(row));
        acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, acc[r][0]);
      _mm256_storeu_ps(row + 8, acc[r][1]);
    }
    return;
  }
  alignas(32) float tmp[16];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    _mm256_store_ps(tmp, acc[r][0]);
    _mm256_store_ps(tmp + 8, acc[r][1]);
    float* row = c + r * ldc;
    for (int j = 0; j < cols; ++j) row[j] = add ? row[j] + tmp[j] : tmp[j];
  }
}


/// MR x (16 * NV) AVX-512 micro-kernel. The C tile is prefetched on entry (it is stored after kc steps); B rows
/// are loaded once per k and each A value is an embedded-broadcast operand of its FMAs.
template <int MR, int NV>
__attribute__((target("avx512f"))) void kernelAvx512(int kc, const float* a, const float* b, float* c,
                                                      int64_t ldc, int rows, int cols, bool add) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r < rows) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
    }
  }
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += MR;
    b += 16 * NV;
  }
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int n = std::clamp(cols - 16 * v, 0, 16);
    mask[v] = static_cast<__mmask16>((1u << n) - 1u);
  }
  if (cols == 16 * NV) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      if (r >= rows) break;
      float* row = c + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m512 x = acc[r][v];
        if (add) x = _mm512_add_ps(x, _mm512_loadu_ps(row + 16 * v));
        _mm512_storeu_ps(row + 16 * v, x);
      }
    }
    return;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    float* row = c + r * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 x = acc[r][v];
      if (add) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], row + 16 * v));
      _mm512_mask_storeu_ps(row + 16 * v, mask[v], x);
    }
  }
}

const KernelInfo kPortable{"portable", 4, 8, &kernelScalar<4, 8>};
const KernelInfo kAvx2{"avx2", 6, 16, &kernelAvx2};
const KernelInfo kAvx512{"avx512", 12, 32, &kernelAvx512<12, 2>};

/// The micro-kernel of the ISA in use (isa.h).
const KernelInfo& currentKernel() {
  switch (currentIsa()) {
    case Isa::avx512: return kAvx512;
    case Isa::avx2: return kAvx2;
    default: return kPortable;
  }
}

constexpr int kKcMax = 256;          // depth block: a kc x 32 B micro-panel (32 KB) stays in the 48 KB L1
constexpr int kMcTarget = 144;       // rows per task: its mc x kc A block stays in L2
constexpr int64_t kBPackMax = 1 << 21;  // floats of packed B per pass (8 MB): the whole depth of most products
constexpr int kNc = 2048;               // columns per column block

std::vector<float>& threadScratch(int slot) {
  thread_local std::vector<float> buffers[2];
  return buffers[slot];
}

float* ensure(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

namespace {

/// Eight rows at a time: each 256-bit register holds 4 k-values of row i (low half) and row i + 4 (high half),
/// so one in-lane 4x4 transpose yields whole 8-row columns (8 shuffles per 32 floats, half the SSE count).
__attribute__((target("avx2"))) int packRows8Avx(const float* const* rows, int nrows, int kc, float* dst, int mr) {
  int r = 0;
  for (; r + 8 <= nrows; r += 8) {
    const float* s[8];
    for (int i = 0; i < 8; ++i) s[i] = rows[r + i];
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
      const __m256 a0 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s[0] + k)), _mm_loadu_ps(s[4] + k), 1);
      const __m256 a1 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s[1] + k)), _mm_loadu_ps(s[5] + k), 1);
      const __m256 a2 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s[2] + k)), _mm_loadu_ps(s[6] + k), 1);
      const __m256 a3 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s[3] + k)), _mm_loadu_ps(s[7] + k), 1);
      const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
      const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
      float* d = dst + k * mr + r;
      _mm256_storeu_ps(d, _mm256_shuffle_ps(t0, t2, 0x44));
      _mm256_storeu_ps(d + mr, _mm256_shuffle_ps(t0, t2, 0xEE));
      _mm256_storeu_ps(d + 2 * mr, _mm256_shuffle_ps(t1, t3, 0x44));
      _mm256_storeu_ps(d + 3 * mr, _mm256_shuffle_ps(t1, t3, 0xEE));
    }
    for (; k < kc; ++k)
      for (int i = 0; i < 8; ++i) dst[k * mr + r + i] = s[i][k];
  }
  return r;
}

}  // namespace

void packRowsKMajor(const float* const* rows, int nrows, int kc, float* dst, int mr) {
  int r = currentIsa() != Isa::portable ? packRows8Avx(rows, nrows, kc, dst, mr) : 0;
  for (; r + 4 <= nrows; r += 4) {
    const float *s0 = rows[r], *s1 = rows[r + 1], *s2 = rows[r + 2], *s3 = rows[r + 3];
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 x0 = _mm_loadu_ps(s0 + k), x1 = _mm_loadu_ps(s1 + k), x2 = _mm_loadu_ps(s2 + k),
             x3 = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      float* d = dst + k * mr + r;
      _mm_storeu_ps(d, x0);
      _mm_storeu_ps(d + mr, x1);
      _mm_storeu_ps(d + 2 * mr, x2);
      _mm_storeu_ps(d + 3 * mr, x3);
    }
    for (; k < kc; ++k) {
      float* d = dst + k * mr + r;
      d[0] = s0[k];
      d[1] = s1[k];
      d[2] = s2[k];
      d[3] = s3[k];
    }
  }
  for (; r < nrows; ++r) {
    const float* s = rows[r];
    for (int k = 0; k < kc; ++k) dst[k * mr + r] = s[k];
  }
  if (nrows < mr)
    for (int k = 0; k < kc; ++k) std::fill(dst + k * mr + nrows, dst + k * mr + mr, 0.f);
}

void DenseB::pack(int64_t k0, int kc, int64_t j0, int cols, int nr, float* dst) const {
  if (!trans_) {
    for (int k = 0; k < kc; ++k) {
      const float* src = b_ + (k0 + k) * ldb_ + j0;
      float* out = dst + k * nr;
      std::memcpy(out, src, sizeof(float) * cols);
      for (int j = cols; j < nr; ++j) out[j] = 0.f;
    }
  } else {
    for (int j = 0; j < nr; ++j) {
      if (j < cols) {
        const float* src = b_ + (j0 + j) * ldb_ + k0;
        for (int k = 0; k < kc; ++k) dst[k * nr + j] = src[k];
      } else {
        for (int k = 0; k < kc; ++k) dst[k * nr + j] = 0.f;
      }
    }
  }
}

void DenseA::pack(int64_t i0, int rows, int64_t k0, int kc, float* dst, int mr) const {
  if (!trans_) {
    const float* ptrs[64];
    for (int r = 0; r < rows; ++r) ptrs[r] = a_ + (i0 + r) * lda_ + k0;
    packRowsKMajor(ptrs, rows, kc, dst, mr);
  } else {
    // A(i, k) = a[k * lda + i]: each k contributes `rows` contiguous floats.
    for (int k = 0; k < kc; ++k) {
      float* out = dst + k * mr;
      std::memcpy(out, a_ + (k0 + k) * lda_ + i0, sizeof(float) * rows);
      for (int r = rows; r < mr; ++r) out[r] = 0.f;
    }
  }
}

int gemmDepthBlock(int64_t k) {
  // Depth blocks of equal size (a multiple of 8 where possible) rather than kKcMax plus a short remainder.
  const int64_t kblocks = (k + kKcMax - 1) / kKcMax;
  return static_cast<int>(std::min<int64_t>(kKcMax, ((k + kblocks - 1) / kblocks + 7) / 8 * 8));
}

void sgemm(const ASource& a, const BSource& b, int64_t m, int64_t n, int64_t k, float* c, int64_t ldc,
           bool accumulate, bool parallel) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
    return;
  }
  const KernelInfo& ki = currentKernel();
  const int mr = ki.mr, nr = ki.nr;
  ThreadPool& tp = pool();
  // A product this small (well under a millisecond of one core) costs less than waking the pool.
  if (m * n * k < (int64_t{1} << 17)) parallel = false;
  const int threads = parallel ? tp.size() : 1;

  const int kc0 = gemmDepthBlock(k);
  const int64_t panelsN = (n + nr - 1) / nr;
  // Column block of up to kNc columns; A blocks are packed once per column block.
  const int64_t ncPanels = std::min<int64_t>(panelsN, std::max(1, kNc / nr));

  // Row blocks: about kMcTarget rows (a multiple of mr), their count rounded up to a multiple of the threads.
  int64_t mblocks = std::max<int64_t>(1, (m + kMcTarget - 1) / kMcTarget);
  if (threads > 1) mblocks = (mblocks + threads - 1) / threads * threads;
  const int64_t mc = std::max<int64_t>(mr, ((m + mblocks - 1) / mblocks + mr - 1) / mr * mr);
  mblocks = (m + mc - 1) / mc;

  // Depth range per pass: the whole depth unless its packed B would exceed kBPackMax floats (long reductions).
  const int64_t kr = std::min<int64_t>(k, std::max<int64_t>(1, kBPackMax / (ncPanels * nr * kc0)) * kc0);
  float* bp = ensure(threadScratch(0), static_cast<size_t>(kr * ncPanels * nr));

  for (int64_t jc = 0; jc < n; jc += ncPanels * nr)
  for (int64_t ks = 0; ks < k; ks += kr) {
    const int64_t ke = std::min(k, ks + kr);
    const int64_t nc = std::min(ncPanels * nr, n - jc);
    const int64_t panels = (nc + nr - 1) / nr;
    // Packed B: the depth block at pc holds `panels` micro-panels of kc x nr at bp + (pc - ks) * panels * nr.
    const int64_t qblocks = (ke - ks + kc0 - 1) / kc0;
    if (parallel && threads > 1) {
      tp.run(qblocks * panels, [&](int64_t t, int) {
        const int64_t pc = ks + t / panels * kc0, p = t % panels;
        const int kc = static_cast<int>(std::min<int64_t>(kc0, ke - pc));
        const int cols = static_cast<int>(std::min<int64_t>(nr, nc - p * nr));
        b.pack(pc, kc, jc + p * nr, cols, nr, bp + (pc - ks) * panels * nr + p * kc * nr);
      });
    } else {
      for (int64_t pc = ks; pc < ke; pc += kc0) {
        const int kc = static_cast<int>(std::min<int64_t>(kc0, ke - pc));
        b.packAll(pc, kc, jc, nc, nr, bp + (pc - ks) * panels * nr);
      }
    }
    // Column chunks only when row blocks alone cannot feed the threads: each chunk re-packs its A block.
    const int64_t chunks =
        threads == 1 ? 1 : std::min<int64_t>(panels, std::max<int64_t>(1, (2 * threads + mblocks - 1) / mblocks));
    auto task = [&](int64_t t, int) {
      const int64_t ib = t / chunks, jcn = t % chunks;
      const int64_t i0 = ib * mc;
      const int64_t rows = std::min(mc, m - i0);
      const int64_t rpanels = (rows + mr - 1) / mr;
      const int64_t p0 = jcn * panels / chunks, p1 = (jcn + 1) * panels / chunks;
      float* ap = ensure(threadScratch(1), static_cast<size_t>(rpanels * mr * kc0));
      for (int64_t pc = ks; pc < ke; pc += kc0) {
        const int kc = static_cast<int>(std::min<int64_t>(kc0, ke - pc));
        const bool add = accumulate || pc > 0;
        for (int64_t ip = 0; ip < rpanels; ++ip) {
          const int r = static_cast<int>(std::min<int64_t>(mr, rows - ip * mr));
          a.pack(i0 + ip * mr, r, pc, kc, ap + ip * mr * kc, mr);
        }
        const float* bq = bp + (pc - ks) * panels * nr;
        for (int64_t p = p0; p < p1; ++p) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nc - p * nr));
          const float* bpanel = bq + p * kc * nr;
          float* cp = c + i0 * ldc + jc + p * nr;
          for (int64_t ip = 0; ip < rpanels; ++ip) {
            const int r = static_cast<int>(std::min<int64_t>(mr, rows - ip * mr));
            ki.fn(kc, ap + ip * mr * kc, bpanel, cp + ip * mr * ldc, ldc, r, cols, add);
          }
        }
      }
    };
    if (parallel && threads > 1) tp.run(mblocks * chunks, task);
    else
      for (int64_t t = 0; t < mblocks * chunks; ++t) task(t, 0);
  }
}

}  // namespace diffiqa
