// Iteration over broadcast operands without materialising the broadcast: each
// operand is read through strides that are 0 along broadcast dimensions.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "eigengrad/tensor.h"

namespace eigengrad::kernels {

/// Row-major element strides of `shape` as seen from `out_shape` (right-aligned),
/// 0 where `shape` is broadcast (missing or of size 1).
inline Dims broadcast_strides(const Shape& shape, const Shape& out_shape) {
  Dims strides(out_shape.size(), 0);
  std::int64_t stride = 1;
  std::size_t offset = out_shape.size() - shape.size();
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[offset + i] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

inline Dims contiguous_strides(const Shape& shape) {
  Dims strides(shape.size());
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/// Walks `shape` with N operands read through `strides` (element strides per
/// dimension). Dimensions of size 1 are dropped and neighbours that are contiguous
/// for every operand are merged, so the common cases become one long inner loop.
/// Calls `row(offsets, n, inner_strides)` once per innermost row.
template <std::size_t N, class Row>
void for_each_row(const Shape& shape, const std::array<Dims, N>& strides, Row&& row) {
  Dims dims;
  std::array<Dims, N> st;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;
    bool merge = !dims.empty();
    for (std::size_t k = 0; k < N && merge; ++k)
      merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      dims.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) st[k].back() = strides[k][d];
    } else {
      dims.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  std::array<std::int64_t, N> offsets{};
  std::array<std::int64_t, N> inner{};
  if (dims.empty()) {  // a single element
    row(offsets, std::int64_t{1}, inner);
    return;
  }
  const std::size_t last = dims.size() - 1;
  for (std::size_t k = 0; k < N; ++k) inner[k] = st[k][last];
  Dims index(last, 0);
  while (true) {
    row(offsets, dims[last], inner);
    // Odometer over the outer dimensions.
    std::size_t d = last;
    while (d-- > 0) {
      ++index[d];
      for (std::size_t k = 0; k < N; ++k) offsets[k] += st[k][d];
      if (index[d] < dims[d]) break;
      for (std::size_t k = 0; k < N; ++k) offsets[k] -= st[k][d] * dims[d];
      index[d] = 0;
    }
    if (d == static_cast<std::size_t>(-1)) return;
  }
}

}  // namespace eigengrad::kernels
