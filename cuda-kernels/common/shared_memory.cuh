// The launch's dynamic shared memory, declared the same way on the GPU and in the CPU emulator
// (where it is a per-block arena of exactly the launch's bytes, so one byte past it is caught).
#pragma once

#ifdef K4J_EMULATOR
#define K4J_DYNAMIC_SMEM(T, name, align) T *const name = static_cast<T *>(::k4j::emu::dynamic_smem())
#else
#define K4J_DYNAMIC_SMEM(T, name, align) extern __shared__ __align__(align) T name[]
#endif
