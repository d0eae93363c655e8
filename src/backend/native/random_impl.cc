// The labeller's normal draws for the JS Rng (src/util/rng.ts). The RC4 bytes and seedrandom's doubles are integer
// steps and exact double arithmetic, so they equal the JS draws bit for bit. Box-Muller runs here too, in double, with
// this file's own log and sin/cos: they can differ from V8's Math (fdlibm in Node 20, glibc-derived trigonometry in
// later V8) in the last bits of the double, which changes the float32 normal only when that double lies within a few
// ulps of a float32 rounding boundary. Those pairs (a few per million) are handed back for JS to recompute with V8's
// own functions, so the normals stay bit-identical to Rng.normalArray's on any Node version. One generator per pool
// thread.
#include "random.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "isa.h"
#include "thread_pool.h"

namespace diffiqa {

namespace {

/// One generator's RC4 state, its permutation held in 32-bit words while it runs: byte-wide stores followed by loads
/// of the same bytes stalled store-to-load forwarding (the permutation is read right after it is written).
struct Arc4 {
  uint32_t s[256];
  uint32_t i, j;

  explicit Arc4(const uint8_t* state) : i(state[256]), j(state[257]) { std::copy(state, state + 256, s); }

  void save(uint8_t* state) const {
    std::copy(s, s + 256, state);
    state[256] = static_cast<uint8_t>(i);
    state[257] = static_cast<uint8_t>(j);
  }

  /// The next output byte (seedrandom's ARC4.g(1)).
  uint32_t byte() {
    i = (i + 1) & 255;
    const uint32_t t = s[i];
    j = (j + t) & 255;
    const uint32_t u = s[j];
    s[i] = u;
    s[j] = t;
    return s[(u + t) & 255];
  }

  /// Uniform in [0, 1) with 53 bits: seedrandom's prng.double(), in integers. seedrandom keeps n, x and d in doubles
  /// that stay exact integers and powers of two until the last step, (n + x) / d: here n and x are integers, d = 2^e,
  /// and the last step is the one rounding (uint64 -> double, to nearest as the double addition rounds) times an
  /// exact power of two. The double version's chain of dependent multiplies and its halving loop cost about as much
  /// as the RC4 bytes themselves.
  double uniform() {
    uint64_t n = 0;
    for (int c = 0; c < 6; ++c) n = (n << 8) | byte();
    int e = 48;
    uint32_t x = 0;
    while (n < (uint64_t{1} << 52)) {  // significance
      n = (n + x) << 8;
      e += 8;
      x = byte();
    }
    // while (n >= 2^53) { n /= 2; d /= 2; x >>>= 1; }: n is a multiple of 256 below 2^60, so at most 7 exact halvings.
    const int h = n >= (uint64_t{1} << 53) ? 64 - __builtin_clzll(n) - 53 : 0;
    n >>= h;
    x >>= h;
    e -= h;
    const uint64_t scaleBits = static_cast<uint64_t>(1023 - e) << 52;  // 2^-e, a normal double for e < 1023
    double scale;
    std::memcpy(&scale, &scaleBits, sizeof scale);
    return static_cast<double>(n + x) * scale;
  }

  /// The first uniform of a Box-Muller pair: redrawn while <= 2^-52 (Number.EPSILON), as Rng.normal rejects it.
  double boxMullerU() {
    double u = 0;
    while (u <= 0x1p-52) u = uniform();
    return u;
  }
};

/// c[0] t^(N-1) + c[1] t^(N-2) + ... + c[N-1], by Horner's rule from the highest coefficient.
template <size_t N>
inline double horner(double t, const double (&c)[N]) {
  double acc = c[0];
  for (size_t i = 1; i < N; ++i) acc = acc * t + c[i];
  return acc;
}

/// log(u) for u in (2^-52, 1). u = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m - 1) / (m + 1),
/// summed as its series in s^2 (|s| <= 0.172: the terms after s^23 / 23 are below 2^-60 of the sum); e ln 2 with ln 2
/// in two parts, the first exact times e. A few ulps from the correctly rounded log.
inline double logUnit(double u) {
  const uint64_t b = __builtin_bit_cast(uint64_t, u);
  // The exponent field as a double without an int64 conversion (that needs AVX-512 DQ to vectorise): 2^52 + field.
  const double field = __builtin_bit_cast(double, (b >> 52) | 0x4330000000000000ull) - 0x1p52;
  const double m0 = __builtin_bit_cast(double, (b & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
  const bool halve = m0 > 0x1.6a09e667f3bcdp+0;  // sqrt(2)
  const double m = halve ? m0 * 0.5 : m0;
  const double e = field - (halve ? 1022.0 : 1023.0);
  const double f = m - 1.0;  // exact: m in [1/2, 2]
  const double s = f / (2.0 + f);
  const double t = s * s;
  const double q = horner(t, {1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3});
  const double logM = 2.0 * s + (2.0 * s * t) * q;
  constexpr double kLn2Hi = 0x1.62e42fefa2000p-1, kLn2Lo = 0x1.9ef35793c7673p-41;  // kLn2Hi has 40 bits
  return e * kLn2Hi + (logM + e * kLn2Lo);
}

/// cos and sin of x = (2 pi) v for v in [0, 1), x rounded as JS rounds 2 * Math.PI * v. x = n pi/2 + r with n the
/// nearest integer and pi/2 in three parts (Cody-Waite: the first two of 33 bits, so n times them is exact and the
/// first subtraction is exact), then Taylor series on |r| <= pi/4 (through r^17 and r^16: truncation below 2^-62).
inline void cosSinTwoPi(double v, double& cosX, double& sinX) {
  const double x = 0x1.921fb54442d18p+2 * v;
  // Round to nearest by the 1.5 * 2^52 shift (no SSE4.1 needed), which also leaves n in the low mantissa bits.
  const double shifted = x * 0x1.45f306dc9c883p-1 + 0x1.8p52;
  const double n = shifted - 0x1.8p52;
  const uint64_t quadrant = __builtin_bit_cast(uint64_t, shifted) & 3;
  const double r = ((x - n * 0x1.921fb54400000p+0) - n * 0x1.0b4611a600000p-34) - n * 0x1.3198a2e037073p-69;
  const double r2 = r * r;
  // Horner from the highest coefficient: sin r = r + r^3 (-1/3! + r^2 (1/5! - ...)), cos r = 1 - r^2/2 + r^4 (...).
  const double sinR = r + (r * r2) * horner(r2, {1.0 / 355687428096000.0, -1.0 / 1307674368000.0, 1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0});
  const double cosR = (1.0 - 0.5 * r2) + (r2 * r2) * horner(r2, {1.0 / 20922789888000.0, -1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0, 1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0});
  cosX = quadrant == 0 ? cosR : quadrant == 1 ? -sinR : quadrant == 2 ? -cosR : sinR;
  sinX = quadrant == 0 ? sinR : quadrant == 1 ? cosR : quadrant == 2 ? -sinR : -cosR;
}

/// Whether the float32 rounding of z could change if z moved by `guard` ulps: the 29 bits that the rounding drops lie
/// within `guard` of their halfway value.
inline bool nearFloatTie(double z, int64_t guard) {
  const int64_t dropped = static_cast<int64_t>(__builtin_bit_cast(uint64_t, z) & 0x1FFFFFFFull) - 0x10000000;
  return (dropped < 0 ? -dropped : dropped) <= guard;
}

/// Box-Muller on n pairs: out[2p] = sqrt(-2 log u) cos(2 pi v), out[2p + 1] the sine, rounded to float32 as JS
/// stores them; hard[p] flags the pairs whose rounding nearFloatTie leaves in doubt. Branch-free, so it vectorises.
/// No multiply-add contraction: the products JS rounds (2 pi v, r cos) are rounded here too.
DIFFIQA_KERNEL_BODY void boxMullerBlockBody(const double* u, const double* v, int64_t n, int64_t guard, float* out, uint8_t* hard) {
  for (int64_t p = 0; p < n; ++p) {
    double c, s;
    cosSinTwoPi(v[p], c, s);
    const double radius = std::sqrt(-2.0 * logUnit(u[p]));
    const double z0 = radius * c, z1 = radius * s;
    out[2 * p] = static_cast<float>(z0);
    out[2 * p + 1] = static_cast<float>(z1);
    hard[p] = nearFloatTie(z0, guard) | nearFloatTie(z1, guard);
  }
}
DIFFIQA_MULTIVERSION_ATTR(__attribute__((optimize("fp-contract=off"))), boxMullerBlock, (const double* u, const double* v, int64_t n, int64_t guard, float* out, uint8_t* hard), (u, v, n, guard, out, hard))

}  // namespace

std::vector<double> arc4Normals(uint8_t* states, int64_t G, int64_t pairs, int64_t guard, float* out) {
  constexpr int64_t kBlock = 512;  // pairs drawn, then transformed, at a time
  std::vector<std::vector<double>> hardOf(static_cast<size_t>(G));
  pool().run(G, [&](int64_t g, int) {
    uint8_t* st = states + g * kArc4StateBytes;
    Arc4 a(st);
    double u[kBlock], v[kBlock];
    uint8_t hard[kBlock];
    float* o = out + g * 2 * pairs;
    for (int64_t p0 = 0; p0 < pairs; p0 += kBlock) {
      const int64_t n = std::min(kBlock, pairs - p0);
      for (int64_t p = 0; p < n; ++p) {
        u[p] = a.boxMullerU();
        v[p] = a.uniform();
      }
      boxMullerBlock(u, v, n, guard, o + 2 * p0, hard);
      for (int64_t p = 0; p < n; ++p)
        if (hard[p]) hardOf[g].insert(hardOf[g].end(), {static_cast<double>(g * 2 * pairs + 2 * (p0 + p)), u[p], v[p]});
    }
    a.save(st);
  });
  std::vector<double> hard;
  for (const auto& h : hardOf) hard.insert(hard.end(), h.begin(), h.end());
  return hard;
}

}  // namespace diffiqa
