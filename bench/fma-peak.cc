// Measured fp32 peak of one core per instruction set: 12 independent FMA chains (enough to hide the FMA latency on
// both ports; AVX2 has only 16 registers) in inline asm, so the compiler cannot drop or reorder them. bench:kernels'
// "% peak" uses a nominal clock; this says what the core really sustains, for the AVX-512 (zmm) and the AVX2 (ymm)
// paths (Sapphire Rapids VM: ~158 GFLOP/s per core with zmm, i.e. ~2.47 GHz x 2 x 32).
//   g++ -O2 -mavx512f bench/fma-peak.cc -o /tmp/fma-peak && /tmp/fma-peak   # one core, every ISA the CPU has
//   /tmp/fma-peak & /tmp/fma-peak; wait                                   # both cores at once
#include <chrono>
#include <cstdio>

#define FMA12(R)                                                                                               \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "0\n vfmadd231ps %%" R "14, %%" R "15, %%" R "1\n"                  \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "2\n vfmadd231ps %%" R "14, %%" R "15, %%" R "3\n"                  \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "4\n vfmadd231ps %%" R "14, %%" R "15, %%" R "5\n"                  \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "6\n vfmadd231ps %%" R "14, %%" R "15, %%" R "7\n"                  \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "8\n vfmadd231ps %%" R "14, %%" R "15, %%" R "9\n"                  \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "10\n vfmadd231ps %%" R "14, %%" R "15, %%" R "11\n"

constexpr long kIters = 50000000;
constexpr int kChains = 12;

template <class Loop>
double best(Loop loop, int lanes) {
  double top = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    loop();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gflops = kIters * kChains * 2.0 * lanes / s / 1e9;
    if (gflops > top) top = gflops;
  }
  return top;
}

// One function per register width: kChains FMA chains on registers 0-11 of that width, 14 and 15 as operands.
#define FMA_LOOP(NAME, TARGET, R)                                                                               \
  __attribute__((target(TARGET))) void NAME() {                                                                 \
    __asm__ volatile("vxorps %%" R "14, %%" R "14, %%" R "14\n vmovaps %%" R "14, %%" R "15\n mov %0, %%rcx\n" \
                     "1:\n" FMA12(R) "dec %%rcx\n jnz 1b\n"                                                     \
                     :                                                                                           \
                     : "r"(kIters)                                                                               \
                     : "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",  \
                       "xmm9", "xmm10", "xmm11", "xmm14", "xmm15");                                              \
  }
FMA_LOOP(zmmLoop, "avx512f", "zmm")
FMA_LOOP(ymmLoop, "avx2,fma", "ymm")

int main() {
  if (__builtin_cpu_supports("avx512f"))
    std::printf("fp32 FMA peak, one core, avx512 (zmm): %.1f GFLOP/s (best of 5)\n", best(zmmLoop, 16));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    std::printf("fp32 FMA peak, one core, avx2 (ymm): %.1f GFLOP/s (best of 5)\n", best(ymmLoop, 8));
}
