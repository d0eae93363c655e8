// Branch-free float math shared by the elementwise kernels, softmax and the fused UNet ops (inline, so that each
// caller's loop vectorises under its own target: isa.h).
#pragma once
#include <cstdint>

namespace diffiqa {

/// exp(xc) = 2^n * p(r), xc = n ln2 + r, |r| <= ln2/2, p the degree-6 Taylor polynomial (truncation 1.2e-7), for xc
/// already clamped to [-87.3365, 88.7228] (or NaN).
inline float expClamped(float xc) {
  const float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  // 2^n as 2^(n-1) * 2 so that n = 128 (x just below the overflow threshold) stays representable.
  const float half = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 126) << 23);
  return p * half * 2.f;
}

/// exp(x), branch-free so that loops calling it vectorise; overflows to +inf and underflows to 0 like expf, keeps NaN.
inline float fastExp(float x) {
  const float xc = x < -87.3365f ? -87.3365f : (x > 88.7228f ? 88.7228f : x);
  const float e = x > 88.7228f ? __builtin_inff() : expClamped(xc);
  return x != x ? x : e;
}

/// fastExp for arguments that cannot be positive (a softmax's x - max): for every x <= 0, -inf included, the same
/// value, and NaN for NaN, without the overflow and NaN selects (a quarter of fastExp's instructions), which only
/// ever pass such an x through. Swapping it in can still move a last bit where it changes how GCC vectorises the
/// loop: the avx512f target contracts the polynomial into multiply-adds in scalar and 512-bit code but not in
/// 256-bit code (VEX FMA is a separate feature). Each use was checked bit for bit against fastExp (LinearAttention's
/// backward softmaxes were not, and keep fastExp).
inline float fastExpNonPositive(float x) { return expClamped(x < -87.3365f ? -87.3365f : x); }

}  // namespace diffiqa
