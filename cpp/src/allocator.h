// The allocator of every owned tensor buffer (Storage). Its public face is
// eigengrad/memory.h (statistics, the cache bound, empty_cache).
//
// Note [Caching allocator]
// A fresh large buffer costs more than its malloc: when glibc serves it with mmap
// (always above 32 MiB; below that until its dynamic threshold has risen) or has
// trimmed its heap, the kernel hands out zeroed pages one page fault at a time as
// they are first written. An `exp` of 16M float32 took 76 ms with 16,385 faults per
// call, 29 ms without (bench/python/alloc.py). In a steady loop of 4-8 MiB buffers
// glibc already recycles its heap (no faults measured); the cache makes reuse not
// depend on its thresholds. So freed blocks of at least kCacheMin bytes are kept and
// handed out again:
//  - Size classes: a large request is rounded up to one of four classes per power of
//    two (1, 1.25, 1.5, 1.75 x 2^k), so nearby sizes share blocks and a block is at
//    most 25% larger than asked. A request takes a cached block of its own class
//    only (the most recently freed one, still warm in the caches).
//  - Small requests go to malloc directly: glibc reuses its own free chunks there,
//    without a lock (kCacheMin is a judgement, not a measured optimum).
//  - Bound: the cached bytes never exceed the limit (memory.h); a block freed past
//    it evicts the least recently freed blocks first, and a block larger than the
//    whole limit is not cached at all.
//  - Failure: when malloc fails, the cache is emptied and malloc tried once more;
//    then OutOfMemory names the size (Tensor adds the op, dtype and shape).
//  - Threads: buffers are made and freed on any thread (backward on the kernel
//    pool, Python threads): one mutex guards the cache; the byte counters are atomics.
//  - Alignment: every buffer starts on a 64-byte boundary (see allocate).
//  - Small buffers: a request that fits in the space its Storage reserves for it
//    (kInlineStorageBytes, tensor.h) takes no memory of its own: Note [Inline buffers].
//  - Sanitizers: in an AddressSanitizer build a cached block is poisoned, so a read
//    through a stale pointer is reported (use-after-poison) until the block is
//    handed out again; .ci/sanitize runs the suite with EIGENGRAD_ALLOC_CACHE=0, so
//    that every free goes to ASan's quarantine, and tests/test_memory.py turns the
//    cache on to run it poisoned.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eigengrad::detail {

/// An owned buffer: what malloc returned (`raw`), the aligned start of the
/// elements (`data`), the bytes asked for (`size`) and those reserved (`capacity`).
/// For a buffer placed in the caller's InlineSpace (`in_place`), raw and capacity
/// are that space.
struct Block {
  void* raw = nullptr;
  void* data = nullptr;
  std::size_t size = 0;
  std::size_t capacity = 0;
  bool in_place = false;
};

/// Space the caller offers for a small buffer (Note [Inline buffers]): `bytes`
/// bytes at `start`. Empty by default.
struct InlineSpace {
  void* start = nullptr;
  std::size_t bytes = 0;
};

/// `nbytes` uninitialised bytes on a 64-byte boundary: inside `space` when they
/// fit there on such a boundary, else from the cache or the system. Counted and
/// fault-injected either way. Throws OutOfMemory (after a size check against the
/// machine's memory, the fault injector, and a retry with the cache emptied).
Block allocate(std::size_t nbytes, InlineSpace space = {});
/// Gives the block back (to the cache, or to the system). Any thread.
void deallocate(const Block& block) noexcept;
/// The op named by the innermost AllocationLabel of this thread ("" when none), and
/// whether it is the op's backward rule.
const char* allocation_op(bool* backward);

}  // namespace eigengrad::detail
