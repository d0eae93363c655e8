// Measured memory bandwidth of this machine, for judging the memory-bound kernels (GroupNorm, elementwise, the
// LinearAttention passes): a triad b = a * s + b over two 256 MB arrays (two read streams, one write), 1 and 2
// threads, best of 5. bench:kernels' percentages are of the FMA peak (fma-peak.cc); this is the other roof.
//   g++ -O3 -march=native -pthread bench/bandwidth.cc -o /tmp/bandwidth && /tmp/bandwidth
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

int main() {
  const size_t n = size_t{64} << 20;  // floats per array
  std::vector<float> a(n, 1.f), b(n, 2.f);
  for (int threads : {1, 2}) {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          const size_t lo = n * t / threads, hi = n * (t + 1) / threads;
          for (size_t i = lo; i < hi; ++i) b[i] = a[i] * 1.0001f + b[i];
        });
      for (auto& th : pool) th.join();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double gbs = 3.0 * n * sizeof(float) / s / 1e9;
      if (gbs > best) best = gbs;
    }
    std::printf("%d thread(s): %.1f GB/s (triad: 2 read streams, 1 write)\n", threads, best);
  }
}
