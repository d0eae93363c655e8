// Measured fp32 peak of one core: 16 independent 512-bit FMA chains (enough to hide the FMA latency on both ports)
// in inline asm, so the compiler cannot drop or reorder them. bench:kernels' "% peak" uses a nominal clock; this
// says what the core really sustains (Sapphire Rapids VM here: ~158 GFLOP/s per core, i.e. ~2.47 GHz x 2 x 32).
//   g++ -O2 -mavx512f bench/fma-peak.cc -o /tmp/fma-peak && /tmp/fma-peak   # one core
//   /tmp/fma-peak & /tmp/fma-peak; wait                                   # both cores at once
#include <chrono>
#include <cstdio>

int main() {
  const long iters = 50000000;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    __asm__ volatile(
        "vxorps %%zmm30, %%zmm30, %%zmm30\n"
        "vmovaps %%zmm30, %%zmm31\n"
        "mov %0, %%rcx\n"
        "1:\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm0\n vfmadd231ps %%zmm30, %%zmm31, %%zmm1\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm2\n vfmadd231ps %%zmm30, %%zmm31, %%zmm3\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm4\n vfmadd231ps %%zmm30, %%zmm31, %%zmm5\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm6\n vfmadd231ps %%zmm30, %%zmm31, %%zmm7\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm8\n vfmadd231ps %%zmm30, %%zmm31, %%zmm9\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm10\n vfmadd231ps %%zmm30, %%zmm31, %%zmm11\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm12\n vfmadd231ps %%zmm30, %%zmm31, %%zmm13\n"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm14\n vfmadd231ps %%zmm30, %%zmm31, %%zmm15\n"
        "dec %%rcx\n"
        "jnz 1b\n"
        :
        : "r"(iters)
        : "rcx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm30", "xmm31");
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gflops = iters * 16.0 * 32 / s / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("fp32 FMA peak, one core: %.1f GFLOP/s (best of 5)\n", best);
}
