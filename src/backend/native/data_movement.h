// Multi-threaded strided copies for the data-movement kernels (Slice, SplitV, Concat, Transpose, Tile, Pad, Reverse):
// tfjs cpu does these with per-element index arithmetic (TensorBuffer get/set for non-contiguous slices), which
// dominated a UNet step once the convolutions were native. Elements are moved as 32-bit words, so float32 and int32
// share one implementation and every copy is bit-exact.
#pragma once
#include <cstdint>

namespace diffiqa {

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
