// Per-channel sums in double over rows of C channels: the GroupNorm statistics and Sum's row reduction. Include it in
// kernel bodies (isa.h), so that it compiles per instruction set.
#pragma once

#include <cstdint>

namespace diffiqa {

/// rowSums with C = CC fixed: the K x CC sums are a local array of fixed size, which the compiler keeps in registers
/// (with a run-time C every row loaded and stored them).
template <int CC, int K, typename Add>
__attribute__((always_inline)) inline void rowSumsFixed(int64_t rows, double* sums, Add add) {
  double s[K * CC];
  for (int i = 0; i < K * CC; ++i) s[i] = sums[i];
  for (int64_t p = 0; p < rows; ++p)
    for (int c = 0; c < CC; ++c) add(p * CC + c, s + c, CC);
  for (int i = 0; i < K * CC; ++i) sums[i] = s[i];
}

/// Adds K per-channel terms of every element of `rows` rows of C channels into sums ([K][C]), rows in order:
/// add(i, s, stride) adds element i = p * C + c's terms into s[0], s[stride], ... (s points at channel c's first sum).
/// The common channel counts (16, 32, 64) take rowSumsFixed; the additions and their order are the same either way.
template <int K, typename Add>
__attribute__((always_inline)) inline void rowSums(int64_t rows, int64_t C, double* sums, Add add) {
  switch (C) {
    case 16: return rowSumsFixed<16, K>(rows, sums, add);
    case 32: return rowSumsFixed<32, K>(rows, sums, add);
    case 64: return rowSumsFixed<64, K>(rows, sums, add);
    default:
      for (int64_t p = 0; p < rows; ++p)
        for (int64_t c = 0; c < C; ++c) add(p * C + c, sums + c, C);
  }
}

}  // namespace diffiqa
