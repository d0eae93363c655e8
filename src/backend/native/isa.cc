#include "isa.h"

namespace diffiqa {

namespace {

Isa detectBest() {
  if (__builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
  return Isa::portable;
}

}  // namespace

Isa bestIsa() {
  static const Isa best = detectBest();
  return best;
}

namespace detail {
std::atomic<Isa> gIsa{bestIsa()};
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "portable";
  }
}

std::string selectIsa(const std::string& request) {
  Isa want = bestIsa();
  if (request == "portable") want = Isa::portable;
  else if (request == "avx2") want = Isa::avx2;
  else if (request == "avx512") want = Isa::avx512;
  // An ISA is runnable when it is not above the best this CPU has (avx512 implies avx2 + fma here).
  if (static_cast<int>(want) > static_cast<int>(bestIsa())) want = bestIsa();
  detail::gIsa.store(want, std::memory_order_relaxed);
  return isaName(want);
}

}  // namespace diffiqa
