// Bias + activation applied in place to a [rows, cols] output, with tfjs's definitions of each activation.
#pragma once
#include <cstdint>

namespace diffiqa {

/// Codes shared with src/backend/native-binding.ts (ACTIVATION_CODES).
enum class Activation : int { Linear = 0, Relu = 1, Relu6 = 2, Elu = 3, Prelu = 4, LeakyRelu = 5, Sigmoid = 6 };

struct Epilogue {
  const float* bias = nullptr;  // length biasLen (1 or cols) or null
  int64_t biasLen = 0;
  Activation act = Activation::Linear;
  const float* alpha = nullptr;  // prelu weights, length alphaLen (1 or cols)
  int64_t alphaLen = 0;
  float leakyAlpha = 0.2f;
  bool isIdentity() const { return bias == nullptr && act == Activation::Linear; }
};

/// Parses an activation code; throws std::invalid_argument for an unknown one.
Activation toActivation(int code);

void applyEpilogue(const Epilogue& e, float* out, int64_t rows, int64_t cols);

}  // namespace diffiqa
