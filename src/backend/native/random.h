// Seeded random draws on the thread pool, for the JS Rng (src/util/rng.ts).
#pragma once

#include <cstdint>

namespace diffiqa {

/// Bytes of one generator's state: RC4's permutation S[256], then its indices i and j.
constexpr int64_t kArc4StateBytes = 258;

/// For each of G RC4 generators (states: G x kArc4StateBytes, advanced in place) draws `pairs` Box-Muller input pairs
/// into out[g * 2 * pairs ...]: u uniform in (2^-52, 1) (redrawn while u <= 2^-52) and v uniform in [0, 1), each
/// built from the RC4 byte stream exactly as seedrandom's prng.double() builds it. The generators run in parallel.
void arc4UniformPairs(uint8_t* states, int64_t G, int64_t pairs, double* out);

}  // namespace diffiqa
