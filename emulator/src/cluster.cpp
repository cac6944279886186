// Thread-block clusters for the emulated sm_90 device, written from the PTX ISA (8.x):
//  - "Cluster of Cooperative Thread Arrays" (programming model) and the CUDA C++ programming guide,
//    "Thread Block Clusters" and "Distributed Shared Memory": the CTAs of a cluster are scheduled
//    together, and a thread may access the shared memory of every CTA of its cluster.
//  - "Special Registers": %cluster_ctarank (the CTA's linear rank in its cluster, from
//    %cluster_ctaid and %cluster_nctaid), %cluster_nctarank (the CTAs per cluster), %clusterid.
//  - "barrier.cluster": barrier.cluster.arrive marks the thread's arrival; barrier.cluster.wait
//    makes it wait until all non-exited threads of the cluster have arrived. .release on the arrive
//    and .acquire on the wait order the memory accesses before the arrive (of every thread) before
//    those after the wait. Each thread performs one arrive and then one wait per phase.
//  - "mapa": maps the address of a shared-memory location of one CTA to the address of the
//    corresponding location in CTA b of the cluster (generic addresses, `mapa.u64`).
//  - "mbarrier.arrive" with .shared::cluster: an arrive-on on the mbarrier of another CTA of the
//    cluster (the address mapa gave); no state is returned for a remote barrier.
//
// Emulation: the scheduler (scheduler.cpp) runs the CTAs of a cluster together, each with its own
// dynamic shared-memory arena; a peer's arena is reached through the real address mapa returns, and
// the sanitizers check such an access against the peer's shadow (sanitizer.cpp). Static __shared__
// variables have one copy per process (k4j_emu/device.h), so kernels launched with clusters of more
// than one CTA must keep their shared memory dynamic (an access to static shared memory is reported).
#include "emu_internal.h"

namespace k4j::emu {

unsigned cluster_ctarank() { return (unsigned)current_block()->rank; }
unsigned cluster_nctarank() { return (unsigned)current_cluster()->size(); }
uint3 cluster_id() { return current_cluster()->id; }
dim3 cluster_dim() { return current_cluster()->dim; }

void cluster_arrive() {
  require_sm90("barrier.cluster.arrive");
  Thread &t = *current_thread();
  if (t.cluster_arrived || t.cluster_arrive_phase != 0)
    report(Check::kSync, true,
           "barrier.cluster.arrive: thread %d arrives again before its barrier.cluster.wait (each phase is one "
           "arrive and then one wait per thread)",
           t.linear);
  t.cluster_arrived = true;
  t.cluster_arrive_phase = current_cluster()->phase + 1;  // the phase count once its phase completed
}

void cluster_wait() {
  require_sm90("barrier.cluster.wait");
  Thread &t = *current_thread();
  if (t.cluster_arrive_phase == 0)
    report(Check::kSync, true, "barrier.cluster.wait: thread %d waits without a barrier.cluster.arrive before it",
           t.linear);
  if (current_cluster()->phase < t.cluster_arrive_phase) {
    t.state = ThreadState::kAtCluster;
    suspend_current_thread();  // made runnable by cluster_barrier_progress, or a deadlock report
  }
  t.cluster_arrive_phase = 0;
}

// The phase completes once every non-exited thread of the cluster arrived: the waiters go on, and
// the accesses before the arrivals are ordered before those after (a barrier interval ends in every
// CTA of the cluster, and across CTAs).
bool cluster_barrier_progress(Cluster &c) {
  int live = 0, arrived = 0;
  for (Block *b : c.blocks)
    for (const Thread &t : b->threads) {
      if (t.state == ThreadState::kExited) continue;
      ++live;
      arrived += t.cluster_arrived;
    }
  if (arrived == 0 || arrived != live) return false;
  ++c.phase;
  ++c.epoch;
  for (Block *b : c.blocks) {
    ++b->barrier_epoch;
    for (Thread &t : b->threads) {
      t.cluster_arrived = false;
      if (t.state == ThreadState::kAtCluster) t.state = ThreadState::kRunnable;
    }
  }
  return true;
}

bool cluster_diagnose_deadlock(Cluster &c) {
  for (Block *b : c.blocks)
    for (const Thread &t : b->threads) {
      if (t.state != ThreadState::kAtCluster) continue;
      int missing = 0;
      const Thread *first = nullptr;
      const Block *first_block = nullptr;
      for (Block *pb : c.blocks)
        for (const Thread &u : pb->threads)
          if (u.state != ThreadState::kExited && !u.cluster_arrived) {
            ++missing;
            if (!first) {
              first = &u;
              first_block = pb;
            }
          }
      set_current_block(b);
      report(Check::kSync, false,
             "deadlock: thread %d of CTA rank %d waits at barrier.cluster.wait, but %d live threads of the cluster "
             "never arrive (e.g. thread %d of CTA rank %d is %s)",
             t.linear, b->rank, missing, first ? first->linear : -1, first_block ? first_block->rank : -1,
             first ? state_name(first->state) : "?");
      return true;
    }
  return false;
}

void *mapa(const void *p, unsigned rank) {
  require_sm90("mapa");
  Cluster &c = *current_cluster();
  if (rank >= (unsigned)c.size())
    report(Check::kMemcheck, true, "mapa: CTA rank %u, but the cluster has %d CTAs", rank, c.size());
  const uint8_t *a = static_cast<const uint8_t *>(p);
  if (a >= static_shared_begin() && a < static_shared_end()) {
    if (c.size() == 1) return const_cast<void *>(p);
    report(Check::kSync, true,
           "mapa of static shared memory %p: the emulator keeps one copy of static __shared__ variables, so kernels "
           "launched with clusters must use dynamic shared memory",
           p);
  }
  Block *owner = cluster_shared_block(p, 1);
  if (owner == nullptr)
    report(Check::kMemcheck, true, "mapa: %p is not the shared memory of a CTA of the cluster", p);
  return c.blocks[rank]->dyn + (a - owner->dyn);
}

}  // namespace k4j::emu
