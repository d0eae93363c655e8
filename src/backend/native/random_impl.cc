// RC4 uniforms for the JS Rng. They are integer steps and exact double arithmetic, so they equal the JS draws bit for
// bit; the transcendental part of Box-Muller stays in JS, where Math.log/cos/sin are V8's own (a libm here could
// round a last bit differently). Moving the byte stream here takes most of a normal draw's cost off the JS thread
// and runs one generator per pool thread.
#include "random.h"

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

  /// Uniform in [0, 1) with 53 bits: seedrandom's prng.double(), step for step (every double here is exact until the
  /// final, correctly rounded division).
  double uniform() {
    double n = 0;
    for (int c = 0; c < 6; ++c) n = n * 256 + byte();
    double d = 0x1p48;
    uint32_t x = 0;
    while (n < 0x1p52) {
      n = (n + x) * 256;
      d *= 256;
      x = byte();
    }
    while (n >= 0x1p53) {
      n /= 2;
      d /= 2;
      x >>= 1;
    }
    return (n + x) / d;
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
