#include "../group_norm.h"
#include "../napi_util.h"
#include "kernels.h"

namespace diffiqa {

namespace {
GroupNormGeom argGroupNorm(const Napi::CallbackInfo& info, size_t index) {
  const std::vector<int64_t> d = argInts(info, index, 4, "dims");
  return {d[0], d[1], d[2], d[3], argNumber(info, index + 1, "epsilon")};
}
}  // namespace

/// groupNorm(x, gamma, beta, y, mean, rstd, [batch, pixels, channels, groups], epsilon)
Napi::Value GroupNorm(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaGroupNorm", [&] {
    const GroupNormGeom g = argGroupNorm(info, 6);
    F32 x = argF32(info, 0, "x"), gamma = argF32(info, 1, "gamma"), beta = argF32(info, 2, "beta");
    F32 y = argF32(info, 3, "y"), mean = argF32(info, 4, "mean"), rstd = argF32(info, 5, "rstd");
    const int64_t n = g.batch * g.pixels * g.channels;
    requireLength(x, n, "x");
    requireLength(y, n, "y");
    requireLength(gamma, g.channels, "gamma");
    requireLength(beta, g.channels, "beta");
    requireLength(mean, g.batch * g.groups, "mean");
    requireLength(rstd, g.batch * g.groups, "rstd");
    groupNormForward(g, x.data, gamma.data, beta.data, y.data, mean.data, rstd.data);
  });
}

/// groupNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, [batch, pixels, channels, groups], epsilon)
Napi::Value GroupNormGrad(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaGroupNormGrad", [&] {
    const GroupNormGeom g = argGroupNorm(info, 8);
    F32 dy = argF32(info, 0, "dy"), x = argF32(info, 1, "x"), gamma = argF32(info, 2, "gamma");
    F32 mean = argF32(info, 3, "mean"), rstd = argF32(info, 4, "rstd");
    F32 dx = argF32(info, 5, "dx"), dgamma = argF32(info, 6, "dgamma"), dbeta = argF32(info, 7, "dbeta");
    const int64_t n = g.batch * g.pixels * g.channels;
    requireLength(dy, n, "dy");
    requireLength(x, n, "x");
    requireLength(dx, n, "dx");
    requireLength(gamma, g.channels, "gamma");
    requireLength(dgamma, g.channels, "dgamma");
    requireLength(dbeta, g.channels, "dbeta");
    requireLength(mean, g.batch * g.groups, "mean");
    requireLength(rstd, g.batch * g.groups, "rstd");
    groupNormBackward(g, dy.data, x.data, gamma.data, mean.data, rstd.data, dx.data, dgamma.data, dbeta.data);
  });
}

/// groupNormFilmSilu(x, gamma, beta, filmScale [B,C], filmShift [B,C], y, mean, rstd, [batch, pixels, channels, groups], eps,
///                   residual | null): y = silu(film(groupNorm(x))) (+ residual)
Napi::Value GroupNormFilmSilu(const Napi::CallbackInfo& info) {
  return guard(info, "DiffiqaGroupNormFilmSilu", [&] {
    const GroupNormGeom g = argGroupNorm(info, 8);
    F32 x = argF32(info, 0, "x"), gamma = argF32(info, 1, "gamma"), beta = argF32(info, 2, "beta");
    F32 fs = argF32(info, 3, "filmScale"), fb = argF32(info, 4, "filmShift");
    F32 y = argF32(info, 5, "y"), mean = argF32(info, 6, "mean"), rstd = argF32(info, 7, "rstd");
    const int64_t n = g.batch * g.pixels * g.channels;
    requireLength(x, n, "x");
    requireLength(y, n, "y");
    requireLength(gamma, g.channels, "gamma");
    requireLength(beta, g.channels, "beta");
    requireLength(fs, g.batch * g.channels, "filmScale");
    requireLength(fb, g.batch * g.channels, "filmShift");
    requireLength(mean, g.batch * g.groups, "mean");
    requireLength(rstd, g.batch * g.groups, "rstd");
    F32 residual = argOptionalF32(info, 10, "residual");
    if (residual.data != nullptr) requireLength(residual, n, "residual");
    groupNormForward(g, x.data, gamma.data, beta.data, y.data, mean.data, rstd.data, fs.data, fb.data, true,
                     residual.data);
  });
}

}  // namespace diffiqa
