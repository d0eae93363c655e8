// RC4 uniforms for the JS Rng. They are integer steps and exact double arithmetic, so they equal the JS draws bit for
// bit; the transcendental part of Box-Muller stays in JS, where Math.log/cos/sin are V8's own (a libm here could
// round a last bit differently). Moving the byte stream here takes most of a normal draw's cost off the JS thread
// and runs one generator per pool thread.
#include "random.h"

#include <cstring>

#include "thread_pool.h"

namespace diffiqa {

namespace {

struct Arc4 {
  uint8_t* s;
  uint8_t i, j;

  /// The next output byte (seedrandom's ARC4.g(1)).
  uint32_t byte() {
    i = static_cast<uint8_t>(i + 1);
    const uint8_t t = s[i];
    j = static_cast<uint8_t>(j + t);
    const uint8_t u = s[j];
    s[i] = u;
    s[j] = t;
    return s[static_cast<uint8_t>(u + t)];
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
};

}  // namespace

void arc4UniformPairs(uint8_t* states, int64_t G, int64_t pairs, double* out) {
  pool().run(G, [&](int64_t g, int) {
    uint8_t* st = states + g * kArc4StateBytes;
    Arc4 a{st, st[256], st[257]};
    double* o = out + g * 2 * pairs;
    for (int64_t p = 0; p < pairs; ++p) {
      double u = 0;
      while (u <= 0x1p-52) u = a.uniform();  // Number.EPSILON, as Rng.normal rejects it
      o[2 * p] = u;
      o[2 * p + 1] = a.uniform();
    }
    st[256] = a.i;
    st[257] = a.j;
  });
}

}  // namespace diffiqa
