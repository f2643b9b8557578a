// Lock stripes: the short critical sections of the graph (a leaf's .grad, a node's
// run state and hooks) lock one of 64 spin locks chosen by the object's address, so
// no object carries a mutex of its own. See Note [Threads].
#pragma once

#include <atomic>
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

/// The lock guarding the object at `p` (one of 64, by address).
SpinLock& stripe(const void* p);

}  // namespace eigengrad::detail
