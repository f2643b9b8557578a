// Live-object counters (graph nodes, buffers) cheap enough for every allocation:
// each thread counts into its own block with plain (non-read-modify-write) atomic
// stores, and a reader sums the blocks. A block outlives its thread (a buffer made
// on one thread may be freed on another, so per-thread counts may go negative; the
// sums are exact whenever no thread is counting).
#pragma once

#include <atomic>
#include <cstdint>

namespace eigengrad::detail {

struct Counts {
  std::atomic<std::int64_t> nodes{0};
  std::atomic<std::int64_t> owned{0};        // owned buffers
  std::atomic<std::int64_t> owned_bytes{0};
  std::atomic<std::int64_t> borrowed{0};     // buffers borrowed from NumPy
  std::atomic<std::int64_t> allocations{0};  // owned buffers ever made
};

/// This thread's block.
Counts& thread_counts();

/// Adds `delta` to a counter of this thread's block.
inline void count(std::atomic<std::int64_t>& counter, std::int64_t delta) {
  counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

/// The sum over every thread's block of the counter `field`.
std::int64_t total(std::atomic<std::int64_t> Counts::*field);

}  // namespace eigengrad::detail
