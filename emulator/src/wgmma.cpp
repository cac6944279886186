// Hopper warpgroup instructions (stubs: the emulated twins come next).
#include <cstdio>
#include <cstdlib>

#include "emu_internal.h"

namespace k4j::emu {

namespace {
[[noreturn]] void todo(const char *what) {
  std::fprintf(stderr, "kernels4j emulator: %s is not emulated yet\n", what);
  std::abort();
}
}  // namespace

uint64_t wgmma_desc(const void *, int, uint32_t, uint32_t) { todo("wgmma descriptor"); }
void wgmma_fence() { todo("wgmma.fence"); }
void wgmma_commit_group() { todo("wgmma.commit_group"); }
void wgmma_wait_group(int) { todo("wgmma.wait_group"); }
void wgmma_e4m3_m64k32(int, float *, uint64_t, uint64_t, int) { todo("wgmma.mma_async"); }
bool elect_one_sync() { todo("elect.sync"); }
void setmaxnreg(bool, int) { todo("setmaxnreg"); }
void named_barrier(bool, int, int) { todo("bar.sync/bar.arrive with an id"); }

}  // namespace k4j::emu
