// Argument unpacking for the kernel entries. Every failure becomes a JS exception naming the argument; nothing
// here aborts the process.
#pragma once
#include <napi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

#include "denormals.h"
#include "epilogue.h"

namespace diffiqa {

struct F32 {
  float* data;
  int64_t length;
};

/// A Float32Array argument (its own byte offset honoured: no copy is made).
F32 argF32(const Napi::CallbackInfo& info, size_t index, const char* name);
/// A Float32Array argument or null/undefined (data == nullptr then).
F32 argOptionalF32(const Napi::CallbackInfo& info, size_t index, const char* name);
/// An array (or typed array) of exactly `count` integers.
std::vector<int64_t> argInts(const Napi::CallbackInfo& info, size_t index, size_t count, const char* name);
/// An Int32Array argument.
Napi::Int32Array argI32(const Napi::CallbackInfo& info, size_t index, const char* name);
double argNumber(const Napi::CallbackInfo& info, size_t index, const char* name);
bool argBool(const Napi::CallbackInfo& info, size_t index, const char* name);

/// Throws std::invalid_argument unless `a.length == want`.
void requireLength(const F32& a, int64_t want, const char* name);

/// A broadcast binary op's geometry: the output shape and each input's strides (0 on broadcast axes).
struct BroadcastGeometry {
  std::vector<int64_t> shape, aStrides, bStrides;
  int64_t size;  ///< number of output elements
  int rank() const { return static_cast<int>(shape.size()); }
};

/// Reads (shape, aStrides, bStrides) from arguments shapeIndex..shapeIndex+2 and checks them against a, b and
/// out: rank 1..8, no negative values, out of the output's size, strides inside a and b.
BroadcastGeometry argBroadcast(const Napi::CallbackInfo& info, size_t shapeIndex, const F32& a, const F32& b, const F32& out);

/// Epilogue from args (bias, activationCode, preluAlpha, leakyAlpha) starting at `first`, checked against cols.
Epilogue argEpilogue(const Napi::CallbackInfo& info, size_t first, int64_t cols);

/// Runs body(), turning any C++ exception into a JS Error with the entry's name; returns what body returns (a
/// Napi::Value), or undefined for a void body.
template <typename Body>
Napi::Value guard(const Napi::CallbackInfo& info, const char* entry, Body body) {
  Napi::Env env = info.Env();
  std::string message;
  try {
    const ScopedFlushDenormals ftz;  // see denormals.h; restored before control returns to JS
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      return env.Undefined();
    } else {
      return body();
    }
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    message = "out of memory";
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown native error";
  }
  throw Napi::Error::New(env, std::string("diffiqa native ") + entry + ": " + message);
}

}  // namespace diffiqa
