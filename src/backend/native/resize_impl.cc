// Output rows (batch x height) are the parallel tasks; each pixel moves `channels` contiguous floats.
#include <algorithm>
#include <cstring>
#include <vector>

#include "data_movement.h"
#include "resize.h"
#include "thread_pool.h"

namespace diffiqa {

void resizeNearest(const float* in, float* out, const int64_t* dims, const int32_t* rowIdx, const int32_t* colIdx) {
  const int64_t batch = dims[0], inH = dims[1], inW = dims[2], ch = dims[3], outH = dims[4], outW = dims[5];
  const int64_t perTask = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, outW * ch));
  // The UNet's 2x upsampling writes 64 MB at 112 px: streamed (data_movement.h), each output row built from its
  // source row (re-reading a just-written row would now go to memory).
  const bool stream = streamable(out, batch * outH * outW * ch * static_cast<int64_t>(sizeof(float)), ch % 4 == 0);
  pool().parallelFor(batch * outH, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / outH, y = r % outH;
      float* o = out + r * outW * ch;
      if (!stream && y > 0 && r > r0 && rowIdx[y] == rowIdx[y - 1]) {  // repeated source row: copy the row just written
        std::memcpy(o, o - outW * ch, static_cast<size_t>(outW * ch) * sizeof(float));
        continue;
      }
      const float* src = in + (b * inH + rowIdx[y]) * inW * ch;
      if (ch == 1) {
        for (int64_t x = 0; x < outW; ++x) o[x] = src[colIdx[x]];
      } else if (stream) {
        for (int64_t x = 0; x < outW; ++x) streamElems(o + x * ch, src + colIdx[x] * ch, ch);
      } else {
        for (int64_t x = 0; x < outW; ++x) copyElems(o + x * ch, src + colIdx[x] * ch, ch);
      }
    }
    if (stream) streamFence();
  }, 4, perTask);
}

void resizeNearestGrad(const float* dy, float* dx, const int64_t* dims, const int32_t* rowPtr, const int32_t* rowList,
                       const int32_t* colPtr, const int32_t* colList) {
  const int64_t batch = dims[0], xH = dims[1], xW = dims[2], ch = dims[3], yH = dims[4], yW = dims[5];
  const int64_t perTask = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, xW * ch));
  pool().parallelFor(batch * xH, [&](int64_t r0, int64_t r1, int) {
    std::vector<double> acc(static_cast<size_t>(ch));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / xH, xr = r % xH;
      for (int64_t c = 0; c < xW; ++c) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int32_t i = rowPtr[xr]; i < rowPtr[xr + 1]; ++i) {
          const float* row = dy + (b * yH + rowList[i]) * yW * ch;
          for (int32_t k = colPtr[c]; k < colPtr[c + 1]; ++k) {
            const float* px = row + static_cast<int64_t>(colList[k]) * ch;
            for (int64_t d = 0; d < ch; ++d) acc[d] += px[d];
          }
        }
        float* o = dx + (r * xW + c) * ch;
        for (int64_t d = 0; d < ch; ++d) o[d] = static_cast<float>(acc[d]);
      }
    }
  }, 4, perTask);
}

}  // namespace diffiqa
