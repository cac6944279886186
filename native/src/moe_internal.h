/* Host-side argument checks shared by the moe launchers (not part of the ABI). */
#pragma once
#include "k4j_internal.h"

namespace k4j::moe {

constexpr int64_t kMaxTopK = 32;
constexpr int64_t kMaxExperts = 1024;
constexpr int64_t kMaxAlignment = 1024;
constexpr int64_t kInt32Max = 2147483647;
// Largest hidden / intermediate size: the combine's grid has ceil(H / 1024) blocks along y (the
// dispatch's and SiLU's ceil(H / 2048)), and gridDim.y is at most 65535.
constexpr int64_t kMaxHidden = 65535LL * 1024;

}  // namespace k4j::moe

#define K4J_MOE_REQUIRE_ROUTING(T, K, E)                                                        \
  do {                                                                                          \
    K4J_REQUIRE((T) >= 0, "numTokens: must be >= 0, got %lld", (long long)(T));                 \
    K4J_REQUIRE((K) >= 1 && (K) <= ::k4j::moe::kMaxTopK, "topK: must be in [1, 32], got %lld",  \
                (long long)(K));                                                                \
    K4J_REQUIRE((E) >= 1 && (E) <= ::k4j::moe::kMaxExperts,                                     \
                "numExperts: must be in [1, 1024], got %lld", (long long)(E));                  \
    K4J_REQUIRE((T) * (K) <= ::k4j::moe::kInt32Max,                                             \
                "numTokens: numTokens * topK must fit in INT32, got %lld * %lld", (long long)(T), \
                (long long)(K));                                                                \
  } while (0)

#define K4J_MOE_REQUIRE_HIDDEN(H, name)                                                         \
  do {                                                                                          \
    K4J_REQUIRE((H) > 0 && (H) % 128 == 0, "%s: must be a positive multiple of 128, got %lld",  \
                name, (long long)(H));                                                          \
    K4J_REQUIRE((H) <= ::k4j::moe::kMaxHidden, "%s: must be at most %lld, got %lld", name,      \
                (long long)::k4j::moe::kMaxHidden, (long long)(H));                             \
  } while (0)
