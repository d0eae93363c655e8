// Instruction-set dispatch for every native kernel.
//
// Each kernel with a vector fast path is compiled once per instruction set from one body (only the target attribute
// differs) and picks its version at call time from currentIsa(). DIFFIQA_ISA / the addon's setIsa select that ISA for
// the whole process, so the AVX2 and portable paths can be run, tested and timed on an AVX-512 machine.
// GCC's target_clones, used before, bound each function once at load time from CPUID: the AVX2 code could never run
// on an AVX-512 machine, and its "avx2" clone had no FMA.
#pragma once

#include <atomic>
#include <string>

namespace diffiqa {

enum class Isa : int { portable = 0, avx2 = 1, avx512 = 2 };

/// The best ISA this CPU runs: avx512 (AVX-512 F), avx2 (AVX2 + FMA) or portable (x86-64 baseline / any CPU).
Isa bestIsa();

namespace detail {
extern std::atomic<Isa> gIsa;
}

/// The ISA every kernel uses now (bestIsa() unless selectIsa chose another).
inline Isa currentIsa() { return detail::gIsa.load(std::memory_order_relaxed); }

/// "avx512", "avx2" or "portable".
const char* isaName(Isa isa);

/// Name of the ISA in use.
inline std::string activeIsa() { return isaName(currentIsa()); }

/// Uses `request` ("avx512", "avx2", "portable", or "auto" for the best) when this CPU runs it; otherwise keeps the
/// best. Returns the name of the ISA now in use, so a caller can tell a refused request. Not thread-safe against
/// running kernels: call it between kernel calls.
std::string selectIsa(const std::string& request);

}  // namespace diffiqa

#define DIFFIQA_TARGET_AVX512 __attribute__((target("avx512f")))
#define DIFFIQA_TARGET_AVX2 __attribute__((target("avx2,fma")))

/// `return`s the call for the ISA in use: one of three expressions naming the compiled versions.
#define DIFFIQA_ISA_SWITCH(avx512Call, avx2Call, portableCall) \
  switch (::diffiqa::currentIsa()) {                           \
    case ::diffiqa::Isa::avx512: return avx512Call;            \
    case ::diffiqa::Isa::avx2: return avx2Call;                \
    default: return portableCall;                              \
  }

/// Defines `void name params`, dispatching on currentIsa() to three compilations of `name##Body args`, an
/// always_inline function holding the one source of the kernel (inlined into each target, so it is compiled for it).
/// `extra` carries further attributes every version needs (for example optimize("fp-contract=off")).
#define DIFFIQA_MULTIVERSION_ATTR(extra, name, params, args)                 \
  DIFFIQA_TARGET_AVX512 extra void name##Avx512 params { name##Body args; } \
  DIFFIQA_TARGET_AVX2 extra void name##Avx2 params { name##Body args; }     \
  extra void name##Portable params { name##Body args; }                     \
  void name params { DIFFIQA_ISA_SWITCH(name##Avx512 args, name##Avx2 args, name##Portable args) }
#define DIFFIQA_MULTIVERSION(name, params, args) DIFFIQA_MULTIVERSION_ATTR(, name, params, args)

/// The same for a kernel templated on one parameter: `tparam` declares it ("BinaryOp OP"), `targ` names it ("OP").
#define DIFFIQA_MULTIVERSION_TEMPLATE(tparam, targ, name, params, args)                      \
  template <tparam> DIFFIQA_TARGET_AVX512 void name##Avx512 params { name##Body<targ> args; } \
  template <tparam> DIFFIQA_TARGET_AVX2 void name##Avx2 params { name##Body<targ> args; }     \
  template <tparam> void name##Portable params { name##Body<targ> args; }                     \
  template <tparam> void name params {                                                        \
    DIFFIQA_ISA_SWITCH(name##Avx512<targ> args, name##Avx2<targ> args, name##Portable<targ> args) \
  }

/// The same for a body templated on the target's count of vector registers (`template <int REGS>`: 32 zmm on AVX-512,
/// 16 ymm on AVX2, 16 xmm on the portable path), for kernels that size their register blocking by it.
#define DIFFIQA_MULTIVERSION_REGS(name, params, args)                      \
  DIFFIQA_TARGET_AVX512 void name##Avx512 params { name##Body<32> args; } \
  DIFFIQA_TARGET_AVX2 void name##Avx2 params { name##Body<16> args; }     \
  void name##Portable params { name##Body<16> args; }                     \
  void name params { DIFFIQA_ISA_SWITCH(name##Avx512 args, name##Avx2 args, name##Portable args) }

/// DIFFIQA_MULTIVERSION_REGS with further attributes on every version, as DIFFIQA_MULTIVERSION_ATTR.
#define DIFFIQA_MULTIVERSION_REGS_ATTR(extra, name, params, args)                \
  DIFFIQA_TARGET_AVX512 extra void name##Avx512 params { name##Body<32> args; } \
  DIFFIQA_TARGET_AVX2 extra void name##Avx2 params { name##Body<16> args; }     \
  extra void name##Portable params { name##Body<16> args; }                     \
  void name params { DIFFIQA_ISA_SWITCH(name##Avx512 args, name##Avx2 args, name##Portable args) }

/// The attribute of a kernel's single source body.
#define DIFFIQA_KERNEL_BODY __attribute__((always_inline)) inline
