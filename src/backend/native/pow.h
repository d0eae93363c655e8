// Pow on float32 with broadcasting: tfjs cpu computes it per element with broadcast index arithmetic; in a UNet
// step it comes from rsqrt's gradient (x^1.5) in weight standardisation and normalisation layers.
#pragma once
#include <cstdint>

namespace diffiqa {

/// out = pow(a, b) over a collapsed broadcast of `rank` dims (element strides, 0 = broadcast), computed in double
/// and rounded once to float like tfjs cpu's Math.pow.
void powBroadcast(const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out,
                  const int64_t* shape, int rank);

}  // namespace diffiqa
