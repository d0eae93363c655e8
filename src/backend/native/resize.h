// Nearest-neighbour resize (NHWC) and its gradient with index tables computed on the TS side by tfjs's own formulas,
// so every attribute combination tfjs allows gives tfjs's exact result.
#pragma once
#include <cstdint>

namespace diffiqa {

/// out[b, y, x, :] = in[b, rowIdx[y], colIdx[x], :]; dims = batch, inH, inW, channels, outH, outW.
void resizeNearest(const float* in, float* out, const int64_t* dims, const int32_t* rowIdx, const int32_t* colIdx);

/// dx[b, r, c, :] = sum over y in rows(r), x in cols(c) (ascending, y outer) of dy[b, y, x, :], accumulated in double;
/// rows(r) = rowList[rowPtr[r] .. rowPtr[r+1]), likewise cols(c). dims = batch, xH, xW, channels, yH, yW.
void resizeNearestGrad(const float* dy, float* dx, const int64_t* dims, const int32_t* rowPtr, const int32_t* rowList,
                       const int32_t* colPtr, const int32_t* colList);

}  // namespace diffiqa
