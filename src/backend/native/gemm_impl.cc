// SGEMM in the BLIS style: jc (NC columns) -> pc (KC depth, pack B once, shared) -> parallel over (MC row block x
// column chunk) tasks, each packing its A block -> micro-kernel over MR x NR tiles. Accumulation is float32.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// C[MR x NR] (+)= A[MR x kc] (rows at a + r*lda) * Bpanel[kc x NR] (packed, NR-contiguous).
using MicroKernel = void (*)(int kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool add);

struct KernelInfo {
  const char* name;
  int mr;
  int nr;
  MicroKernel fn;
};

template <int MR, int NR>
void kernelScalar(int kc, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, bool add) {
  float acc[MR][NR] = {};
  for (int k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const float av = a[r * lda + k];
      for (int j = 0; j < NR; ++j) acc[r][j] += av * b[j];
    }
    b += NR;
  }
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    for (int j = 0; j < NR; ++j) row[j] = add ? row[j] + acc[r][j] : acc[r][j];
  }
}

__attribute__((target("avx2,fma"))) void kernelAvx2(int kc, const float* a, int64_t lda, const float* b,
                                                     float* c, int64_t ldc, bool add) {
  constexpr int MR = 6;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
    b += 16;
  }
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
}

__attribute__((target("avx512f"))) void kernelAvx512(int kc, const float* a, int64_t lda, const float* b,
                                                      float* c, int64_t ldc, bool add) {
  constexpr int MR = 12;
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + k]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
    b += 32;
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    if (add) {
      acc[r][0] = _mm512_add_ps(acc[r][0], _mm512_loadu_ps(row));
      acc[r][1] = _mm512_add_ps(acc[r][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[r][0]);
    _mm512_storeu_ps(row + 16, acc[r][1]);
  }
}

const KernelInfo kScalar{"scalar", 4, 8, &kernelScalar<4, 8>};
const KernelInfo kAvx2{"avx2", 6, 16, &kernelAvx2};
const KernelInfo kAvx512{"avx512", 12, 32, &kernelAvx512};

bool cpuHasAvx512() { return __builtin_cpu_supports("avx512f"); }
bool cpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

const KernelInfo* bestKernel() {
  if (cpuHasAvx512()) return &kAvx512;
  if (cpuHasAvx2()) return &kAvx2;
  return &kScalar;
}

const KernelInfo*& currentKernel() {
  static const KernelInfo* k = bestKernel();
  return k;
}

constexpr int kKc = 256;
constexpr int kMcTarget = 144;
constexpr int kMaxPanels = 64;  // >= kMcTarget / smallest mr
constexpr int64_t kNc = 2048;

}  // namespace

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

namespace {

/// Runs one MR x NR tile; partial tiles go through a small buffer so the micro-kernel never writes out of bounds.
void runTile(const KernelInfo& ki, int kc, const float* ap, int64_t lda, const float* bp, float* c, int64_t ldc,
             int rows, int cols, bool add) {
  if (rows == ki.mr && cols == ki.nr) {
    ki.fn(kc, ap, lda, bp, c, ldc, add);
    return;
  }
  alignas(64) float tmp[12 * 32];
  ki.fn(kc, ap, lda, bp, tmp, ki.nr, false);
  for (int r = 0; r < rows; ++r) {
    float* row = c + r * ldc;
    const float* t = tmp + r * ki.nr;
    for (int j = 0; j < cols; ++j) row[j] = add ? row[j] + t[j] : t[j];
  }
}

std::vector<float>& threadScratch(int slot) {
  thread_local std::vector<float> buffers[2];
  return buffers[slot];
}

float* ensure(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace

void DenseA::pack(int64_t i0, int rows, int64_t k0, int kc, float* dst, int mr) const {
  if (!trans_) {
    for (int r = 0; r < rows; ++r) std::memcpy(dst + r * kc, a_ + (i0 + r) * lda_ + k0, sizeof(float) * kc);
  } else {
    // Row by row: strided reads (the kc source lines stay in L1 across rows), contiguous writes.
    for (int r = 0; r < rows; ++r) {
      const float* src = a_ + k0 * lda_ + i0 + r;
      float* out = dst + r * kc;
      for (int k = 0; k < kc; ++k) out[k] = src[k * lda_];
    }
  }
  if (rows < mr) std::fill(dst + rows * kc, dst + mr * kc, 0.f);
}

void sgemm(const ASource& a, const BSource& b, int64_t m, int64_t n, int64_t k, float* c, int64_t ldc,
           bool accumulate, bool parallel) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.f);
    return;
  }
  const KernelInfo& ki = *currentKernel();
  const int mr = ki.mr, nr = ki.nr;
  const int64_t mc = std::max(1, kMcTarget / mr) * mr;
  ThreadPool& tp = pool();
  const int threads = parallel ? tp.size() : 1;
  const int64_t ncMax = std::min<int64_t>(kNc, (n + nr - 1) / nr * nr);
  float* bp = ensure(threadScratch(0), static_cast<size_t>(kKc) * ncMax);

  for (int64_t jc = 0; jc < n; jc += ncMax) {
    const int64_t nc = std::min(ncMax, n - jc);
    const int64_t panels = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int kc = static_cast<int>(std::min<int64_t>(kKc, k - pc));
      const bool add = accumulate || pc > 0;
      auto packPanels = [&](int64_t p0, int64_t p1, int) {
        for (int64_t p = p0; p < p1; ++p) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nc - p * nr));
          b.pack(pc, kc, jc + p * nr, cols, nr, bp + p * kc * nr);
        }
      };
      if (parallel) tp.parallelFor(panels, packPanels, 2);
      else b.packAll(pc, kc, jc, nc, nr, bp);

      const int64_t mblocks = (m + mc - 1) / mc;
      // Column chunks only when row blocks alone cannot feed the threads: each chunk re-packs its A block.
      const int64_t chunks =
          threads == 1 ? 1 : std::min<int64_t>(panels, std::max<int64_t>(1, (4 * threads + mblocks - 1) / mblocks));
      auto task = [&](int64_t t, int) {
        const int64_t ib = t / chunks, jcn = t % chunks;
        const int64_t i0 = ib * mc;
        const int64_t rows = std::min(mc, m - i0);
        const int64_t rpanels = (rows + mr - 1) / mr;
        // Full panels of a dense A are read in place; others are packed row-major (zero-padded to mr rows).
        float* ap = ensure(threadScratch(1), static_cast<size_t>(mc) * kc);
        const float* panelA[kMaxPanels];
        int64_t panelLda[kMaxPanels];
        for (int64_t ip = 0; ip < rpanels; ++ip) {
          const int r = static_cast<int>(std::min<int64_t>(mr, rows - ip * mr));
          int64_t lda = 0;
          const float* d = r == mr ? a.direct(i0 + ip * mr, pc, &lda) : nullptr;
          if (d != nullptr) {
            panelA[ip] = d;
            panelLda[ip] = lda;
          } else {
            a.pack(i0 + ip * mr, r, pc, kc, ap + ip * mr * kc, mr);
            panelA[ip] = ap + ip * mr * kc;
            panelLda[ip] = kc;
          }
        }
        const int64_t p0 = jcn * panels / chunks, p1 = (jcn + 1) * panels / chunks;
        for (int64_t p = p0; p < p1; ++p) {
          const int cols = static_cast<int>(std::min<int64_t>(nr, nc - p * nr));
          const float* bpanel = bp + p * kc * nr;
          for (int64_t ip = 0; ip < rpanels; ++ip) {
            const int r = static_cast<int>(std::min<int64_t>(mr, rows - ip * mr));
            float* ctile = c + (i0 + ip * mr) * ldc + jc + p * nr;
            runTile(ki, kc, panelA[ip], panelLda[ip], bpanel, ctile, ldc, r, cols, add);
          }
        }
      };
      if (parallel) tp.run(mblocks * chunks, task);
      else
        for (int64_t t = 0; t < mblocks * chunks; ++t) task(t, 0);
    }
  }
}

std::string activeIsa() { return currentKernel()->name; }

std::string selectIsa(const std::string& request) {
  const KernelInfo* k = bestKernel();
  if (request == "scalar") k = &kScalar;
  else if (request == "avx2" && cpuHasAvx2()) k = &kAvx2;
  else if (request == "avx512" && cpuHasAvx512()) k = &kAvx512;
  currentKernel() = k;
  return k->name;
}

}  // namespace diffiqa
