// Denormal (subnormal) floats are flushed to zero while native kernels run, as TensorFlow runs its CPU kernels.
// Why: a float32 product or sum that lands below 2^-126 costs a microcode assist of ~100 cycles on Intel cores
// unless FTZ/DAZ are set, and real checkpoints produce them: mobileface's converted weights have dead channels of
// magnitude 1e-26, whose products with the next layer's 1e-26 weights are subnormal, which made its first
// depthwise convolution ~4x slower on model activations than on random data of the same shape. Flushing changes a
// result only where it is below 1.2e-38 in magnitude.
//
// MXCSR is per thread. The JS thread's is restored when each kernel returns (V8's own double maths keeps IEEE
// semantics); pool workers only ever run kernels, so they set it once.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define DIFFIQA_HAVE_MXCSR 1
#endif

namespace diffiqa {

#ifdef DIFFIQA_HAVE_MXCSR
constexpr unsigned kFlushDenormalBits = 0x8040u;  // FTZ (bit 15) | DAZ (bit 6)

/// Sets FTZ/DAZ on the calling thread for the guard's lifetime, then restores the previous MXCSR.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushDenormalBits); }
  ~ScopedFlushDenormals() { _mm_setcsr(saved_); }
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_;
};

/// Sets FTZ/DAZ on the calling thread for good (pool workers).
inline void flushDenormalsOnThisThread() { _mm_setcsr(_mm_getcsr() | kFlushDenormalBits); }
#else
class ScopedFlushDenormals {};
inline void flushDenormalsOnThisThread() {}
#endif

}  // namespace diffiqa
