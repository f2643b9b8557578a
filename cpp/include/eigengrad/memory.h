// eigengrad: the memory of tensor buffers (statistics, the cache of large blocks).
#pragma once

#include <cstdint>

namespace eigengrad {

/// What the buffer allocator holds (Note [Caching allocator] in cpp/src/allocator.h).
/// Borrowed NumPy memory is not eigengrad's and is counted in none of these but
/// `borrowed_buffers`. Byte counts of buffers in use are the sizes tensors asked for;
/// a cached block's size is its size class (at most 25% more).
struct MemoryStats {
  std::int64_t bytes_in_use = 0;       ///< bytes of live owned buffers
  std::int64_t peak_bytes_in_use = 0;  ///< most bytes_in_use since start or the last reset
  std::int64_t bytes_cached = 0;       ///< bytes of freed large blocks kept for reuse
  std::int64_t cached_blocks = 0;      ///< how many blocks bytes_cached is
  std::int64_t cache_limit = 0;        ///< the bound on bytes_cached (0: no caching)
  std::int64_t allocations = 0;        ///< owned buffers asked for since start
  std::int64_t cache_hits = 0;         ///< large requests served from the cache
  std::int64_t cache_misses = 0;       ///< large requests that went to the system
  std::int64_t borrowed_buffers = 0;   ///< live buffers over NumPy memory (not counted above)
};

/// The allocator's counters (exact when no other thread allocates meanwhile).
MemoryStats memory_stats();
/// Returns every cached block to the system; buffers in use are not touched.
void empty_cache();
/// Sets peak_bytes_in_use to the current bytes_in_use.
void reset_peak_memory_stats();
/// Bounds the bytes kept in the cache (evicting least recently freed blocks past
/// it); 0 turns caching off. The default is 256 MiB (at most 1/16 of RAM and swap),
/// or the environment variable EIGENGRAD_ALLOC_CACHE read at first use: a byte count
/// with an optional K, M or G suffix ("512M"), 0 to turn caching off. Throws
/// std::invalid_argument when `bytes` is negative.
void set_memory_cache_limit(std::int64_t bytes);
std::int64_t memory_cache_limit();

/// While alive, names `op` in the MemoryError of allocations made on this thread
/// ("exp: out of memory allocating 4.0 MiB for a float32 tensor of shape (1024,
/// 1024)"); `backward` says it was the op's backward rule. Scopes nest; the innermost
/// names the op.
class AllocationLabel {
 public:
  explicit AllocationLabel(const char* op, bool backward = false) noexcept;
  ~AllocationLabel();
  AllocationLabel(const AllocationLabel&) = delete;
  AllocationLabel& operator=(const AllocationLabel&) = delete;

 private:
  const char* previous_op_;
  bool previous_backward_;
};

}  // namespace eigengrad
