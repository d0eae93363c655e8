#include <cmath>
#include <stdexcept>

#include "epilogue.h"
#include "thread_pool.h"

namespace diffiqa {

Activation toActivation(int code) {
  if (code < 0 || code > 6) throw std::invalid_argument("unknown activation code");
  return static_cast<Activation>(code);
}

namespace {

inline float activate(float v, const Epilogue& e, int64_t col) {
  switch (e.act) {
    case Activation::Linear:
      return v;
    case Activation::Relu:
      return v < 0.f ? 0.f : v;
    case Activation::Relu6:
      return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case Activation::Elu:
      // tfjs: x >= 0 ? x : exp(x) - 1, evaluated in double like the JS reference.
      return v >= 0.f ? v : static_cast<float>(std::exp(static_cast<double>(v)) - 1.0);
    case Activation::Prelu:
      return v < 0.f ? v * e.alpha[e.alphaLen == 1 ? 0 : col] : v;
    case Activation::LeakyRelu:
      return v < 0.f ? v * e.leakyAlpha : v;
    case Activation::Sigmoid:
      return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
  }
  return v;
}

}  // namespace

void applyEpilogue(const Epilogue& e, float* out, int64_t rows, int64_t cols) {
  if (e.isIdentity()) return;
  pool().parallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      float* row = out + r * cols;
      if (e.bias != nullptr) {
        if (e.biasLen == 1)
          for (int64_t j = 0; j < cols; ++j) row[j] += e.bias[0];
        else
          for (int64_t j = 0; j < cols; ++j) row[j] += e.bias[j];
      }
      if (e.act == Activation::Relu) {
        for (int64_t j = 0; j < cols; ++j) row[j] = row[j] < 0.f ? 0.f : row[j];
      } else if (e.act != Activation::Linear) {
        for (int64_t j = 0; j < cols; ++j) row[j] = activate(row[j], e, j);
      }
    }
  }, 4, 16);
}

}  // namespace diffiqa
