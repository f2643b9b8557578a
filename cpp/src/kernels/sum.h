// The sum of a contiguous run of values, in an order fixed by the length alone.
//
// Note [Sum order]
// Eigen's vectorised sum adds in packets as wide as the instruction set (2, 4 or 8
// doubles), so the same array summed to different last bits on SSE, AVX2 and
// AVX-512. Here the order is written out: runs of up to kLeaf values are added into
// kLanes interleaved partial sums (lane j takes elements j, j + kLanes, ...), which
// are then combined as a fixed binary tree; longer arrays are split in halves and
// the halves' sums added (pairwise summation, as NumPy does, so the rounding error
// grows with log n, not n). The compiler vectorises the lane loop with whatever
// width the CPU has, but every lane computes the same additions in the same order,
// so the result is bitwise the same on every CPU.
#pragma once

#include <cstdint>

namespace eigengrad::kernels {

/// The sum of term(x[i]) over i < n, accumulated in Acc, in the order of Note [Sum order].
template <class Acc, class T, class Term>
Acc sum_of(const T* x, std::int64_t n, Term term) {
  constexpr std::int64_t kLanes = 16, kLeaf = 2048;
  if (n > kLeaf) {
    const std::int64_t half = (n / 2 + kLanes - 1) / kLanes * kLanes;
    return sum_of<Acc>(x, half, term) + sum_of<Acc>(x + half, n - half, term);
  }
  Acc acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += term(x[i + j]);
  for (std::int64_t j = 0; i + j < n; ++j) acc[j] += term(x[i + j]);
  for (std::int64_t width = kLanes / 2; width > 0; width /= 2)
    for (std::int64_t j = 0; j < width; ++j) acc[j] += acc[j + width];
  return acc[0];
}

template <class T>
T sum(const T* x, std::int64_t n) {
  return sum_of<T>(x, n, [](T v) { return v; });
}

}  // namespace eigengrad::kernels
