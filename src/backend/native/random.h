// Seeded random draws on the thread pool, for the JS Rng (src/util/rng.ts).
#pragma once

#include <cstdint>
#include <vector>

namespace diffiqa {

/// Bytes of one generator's state: RC4's permutation S[256], then its indices i and j.
constexpr int64_t kArc4StateBytes = 258;

/// For each of G RC4 generators (states: G x kArc4StateBytes, advanced in place) draws `pairs` Box-Muller pairs, as
/// Rng.normalArray does (u uniform in (2^-52, 1), redrawn while u <= 2^-52, then v uniform in [0, 1), both built
/// from the byte stream exactly as seedrandom's prng.double() builds them), into out[g * 2 * pairs ...] as float32
/// normals. Returns (index in out, u, v) for each pair whose float32 values a last-bit difference from V8's log or
/// sin/cos could change (its doubles within `guard` ulps of a float32 rounding boundary): the caller recomputes those
/// with V8's Math. The generators run in parallel.
std::vector<double> arc4Normals(uint8_t* states, int64_t G, int64_t pairs, int64_t guard, float* out);

}  // namespace diffiqa
