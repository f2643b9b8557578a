// Live-object counters (graph nodes, buffers) cheap enough for every allocation:
// each thread counts into its own block with plain (non-read-modify-write) atomic
// stores, and a reader sums the blocks. A block outlives its thread (a buffer made
// on one thread may be freed on another, so per-thread counts may go negative; the
// sums are exact whenever no thread is counting). When a thread ends, its block
// goes back to a free list for the next thread: the blocks are as many as the most
// threads ever alive at once, not one per thread ever started. What a thread counts
// after its block went back (destructors of other thread-locals) goes to one shared
// block with read-modify-write atomics.
#pragma once

#include <atomic>
#include <cstdint>

namespace eigengrad::detail {

struct Counts {
  bool shared = false;  // the block of threads that have ended: counted atomically
  std::atomic<std::int64_t> nodes{0};
  std::atomic<std::int64_t> owned{0};        // owned buffers
  std::atomic<std::int64_t> owned_bytes{0};
  std::atomic<std::int64_t> borrowed{0};     // buffers borrowed from NumPy
  std::atomic<std::int64_t> allocations{0};  // owned buffers ever made
};

/// This thread's block.
Counts& thread_counts();

/// Adds `delta` to `counter` of `block` (this thread's block).
inline void count(Counts& block, std::atomic<std::int64_t> Counts::*counter, std::int64_t delta) {
  std::atomic<std::int64_t>& c = block.*counter;
  if (block.shared) c.fetch_add(delta, std::memory_order_relaxed);
  else c.store(c.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

/// The sum over every thread's block of the counter `field`.
std::int64_t total(std::atomic<std::int64_t> Counts::*field);

}  // namespace eigengrad::detail
