// Multi-threaded strided copies for the data-movement kernels (Slice, SplitV, Concat, Transpose, Tile, Pad, Reverse):
// tfjs cpu does these with per-element index arithmetic (TensorBuffer get/set for non-contiguous slices), which
// dominated a UNet step once the convolutions were native. Elements are moved as 32-bit words, so float32 and int32
// share one implementation and every copy is bit-exact.
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace diffiqa {

/// Copies n 4-byte elements. Short rows (a concat of 16-channel maps copies 64 bytes per pixel) go through fixed-size
/// chunks that the compiler inlines as vector moves: a libc memcpy call per row cost more than the copy.
template <typename T>
inline void copyElems(T* dst, const T* src, int64_t n) {
  static_assert(sizeof(T) == 4, "4-byte elements");
  if (n > 64) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
    return;
  }
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) __builtin_memcpy(dst + k, src + k, 16 * sizeof(T));
  for (; k + 4 <= n; k += 4) __builtin_memcpy(dst + k, src + k, 4 * sizeof(T));
  for (; k < n; ++k) __builtin_memcpy(dst + k, src + k, sizeof(T));
}

/// Whether `bytes` of output written through dst should use streamElems: large (16 MB or more, so they would not
/// stay in cache for their reader anyway; ordinary stores first read every output line) and 16-byte aligned with
/// rows of a multiple of 4 elements.
inline bool streamable(const void* dst, int64_t bytes, bool rowsOfFour) {
  return rowsOfFour && reinterpret_cast<uintptr_t>(dst) % 16 == 0 && bytes >= (int64_t{16} << 20);
}

/// copyElems with streaming (non-temporal) 16-byte stores: dst 16-byte aligned, n a multiple of 4. A thread that used
/// it calls streamFence() before its parallel task ends (the stores are weakly ordered).
template <typename T>
inline void streamElems(T* dst, const T* src, int64_t n) {
#if defined(__SSE2__)
  static_assert(sizeof(T) == 4, "4-byte elements");
  for (int64_t k = 0; k < n; k += 4)
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + k), _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k)));
#else
  copyElems(dst, src, n);
#endif
}

inline void streamFence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

/// Highest rank a strided copy accepts (Tile views a rank-r tensor as rank 2r).
constexpr int kMaxCopyRank = 16;

/// dst[dstOffset + sum_d i_d * dstStrides[d]] = src[srcOffset + sum_d i_d * srcStrides[d]] for every index i of
/// `shape` (element strides; negative strides reverse, zero strides broadcast). Callers check the bounds.
void stridedCopy(const uint32_t* src, const int64_t* srcStrides, uint32_t* dst, const int64_t* dstStrides,
                 const int64_t* shape, int rank);

/// Concatenation in one pass over the output: out row r (of sum(widths) words) = row r of ins[0] (widths[0] words),
/// then row r of ins[1], and so on, for r < rows. A large output (16 MB or more) is written with streaming stores:
/// it would not stay in cache for its reader anyway, and ordinary stores first read every output line.
void concatRows(const uint32_t* const* ins, const int64_t* widths, int count, uint32_t* out, int64_t rows);

/// The lowest and highest element offsets `shape` reaches with `strides` from 0 (both 0 when it is empty).
void stridedExtent(const int64_t* shape, const int64_t* strides, int rank, int64_t* lo, int64_t* hi);

}  // namespace diffiqa
