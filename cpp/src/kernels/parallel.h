// Splitting a flat loop over threads (OpenMP when the build has it).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "eigengrad/threads.h"

namespace eigengrad::kernels {

/// Below this many elements a loop stays on the calling thread.
constexpr std::int64_t kParallelFrom = 1 << 16;
/// Chunk boundaries are multiples of this many elements, so that every chunk
/// starts on a 64-byte boundary of an aligned buffer and is split into SIMD packets
/// the same way whatever the thread count: results are bitwise the same.
constexpr std::int64_t kChunkQuantum = 64;

/// Calls fn(begin, end) on disjoint ranges covering [0, n), in parallel when n is
/// large and more than one thread is allowed. fn must not throw.
template <class Fn>
void parallel_for(std::int64_t n, Fn&& fn) {
  const int threads = get_num_threads();
#ifdef _OPENMP
  if (threads > 1 && n >= kParallelFrom) {
    const std::int64_t per = (n / threads + kChunkQuantum - 1) / kChunkQuantum * kChunkQuantum;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; ++t) {
      const std::int64_t begin = std::min<std::int64_t>(n, t * per);
      const std::int64_t end = std::min<std::int64_t>(n, begin + per);
      if (begin < end) fn(begin, end);
    }
    return;
  }
#endif
  (void)threads;
  fn(std::int64_t{0}, n);
}

}  // namespace eigengrad::kernels
