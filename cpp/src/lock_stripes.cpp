#include "lock_stripes.h"

#include <cstdint>

namespace eigengrad::detail {

// Note [Threads]
// Several threads may record and backward graphs at once, also graphs that share
// nodes and leaves. What they share is guarded so that the single-threaded path
// pays an uncontended lock at most:
//  - a leaf's accumulator is made with the leaf (never lazily), so reading it needs
//    no lock; a leaf's `.grad` is read and replaced under a lock, and AccumulateGrad
//    computes the new sum outside the lock, retrying if another thread got in first,
//    so concurrent backward passes into one leaf add up exactly;
//  - a FunctionNode's run state (applies in progress, claimed, released) changes
//    under a lock, but its rule runs outside it: backward passes that retain the
//    graph run a shared node concurrently; one that does not claims the node first,
//    so of several passes over a shared graph without retain_graph exactly one runs
//    it and the others raise the retain_graph error; the saved values are freed when
//    the last apply in progress ends.
// The locks are striped by address (no per-object mutex) and never held while a rule,
// a hook or any Python code runs, nor while waiting for the GIL.

namespace {
struct alignas(64) Stripe {
  SpinLock lock;
};
}  // namespace

SpinLock& stripe(const void* p) {
  static Stripe stripes[64];
  return stripes[(reinterpret_cast<std::uintptr_t>(p) >> 6) % 64].lock;
}

}  // namespace eigengrad::detail
