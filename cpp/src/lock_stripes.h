// Lock stripes: the short critical sections of the graph (a leaf's .grad, a node's
// run state and hooks) lock one of 64 spin locks chosen by the object's address, so
// no object carries a mutex of its own.
//
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
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace eigengrad::detail {

/// A lock for critical sections of a few instructions (never held across a rule, a
/// hook, an allocation-heavy call or a wait for the GIL): cheaper than a mutex
/// when uncontended, and it yields instead of spinning hard when contended.
class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

struct alignas(64) Stripe {
  SpinLock lock;
};
/// The 64 stripes, one array for the whole program (an inline variable), constant-
/// initialised: stripe() below inlines into the hot paths that take a lock.
inline Stripe stripes[64];

/// The lock guarding the object at `p` (one of 64, by address).
inline SpinLock& stripe(const void* p) { return stripes[(reinterpret_cast<std::uintptr_t>(p) >> 6) % 64].lock; }

}  // namespace eigengrad::detail
