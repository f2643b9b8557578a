// Reductions over a set of axes. The axes are first merged into alternating runs of
// kept and reduced dimensions; the common layouts (everything, trailing axes,
// leading axes) get vectorised loops, the rest a strided walk.
#include <cmath>
#include <limits>

#include "../dispatch.h"
#include "eigen.h"
#include "kernels.h"
#include "strided.h"
#include "sum.h"

namespace eigengrad::kernels {

namespace {

template <class T>
T identity(Reduce op) {
  switch (op) {
    case Reduce::Sum: return T(0);
    case Reduce::Max: return -std::numeric_limits<T>::infinity();
    case Reduce::Min: return std::numeric_limits<T>::infinity();
  }
  return T(0);
}

// acc op v, with NaN sticky for max and min as in NumPy.
template <class T>
T combine(Reduce op, T acc, T v) {
  switch (op) {
    case Reduce::Sum: return acc + v;
    case Reduce::Max: return (v > acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
    case Reduce::Min: return (v < acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
  }
  return acc;
}

// A contiguous block: the sum in a fixed order (Note [Sum order]).
template <class T>
T reduce_block(Reduce op, const T* x, std::int64_t n) {
  if (op == Reduce::Sum) return sum(x, n);
  T acc = identity<T>(op);
  for (std::int64_t i = 0; i < n; ++i) acc = combine(op, acc, x[i]);
  return acc;
}

template <class T>
void reduce_typed(Reduce op, const Tensor& x, const Dims& axes, Tensor& out) {
  const T* px = x.data_as<T>();
  T* po = out.data_as<T>();
  const std::int64_t n_out = out.numel();
  for (std::int64_t i = 0; i < n_out; ++i) po[i] = identity<T>(op);
  if (x.numel() == 0) return;

  // Merge dimensions into runs: (size, reduced?) with size-1 dimensions dropped.
  SmallVector<bool, kInlineDims> reduced(static_cast<std::size_t>(x.ndim()), false);
  for (std::int64_t a : axes) reduced[a] = true;
  struct Run {
    std::int64_t first;  // size
    bool second;         // reduced?
  };
  SmallVector<Run, kInlineDims> runs;
  for (std::size_t d = 0; d < reduced.size(); ++d) {
    if (x.shape()[d] == 1) continue;
    if (!runs.empty() && runs.back().second == reduced[d]) runs.back().first *= x.shape()[d];
    else runs.push_back({x.shape()[d], reduced[d]});
  }
  if (runs.empty() || (runs.size() == 1 && !runs[0].second)) {  // nothing to reduce
    for (std::int64_t i = 0; i < x.numel(); ++i) po[i] = combine(op, po[i], px[i]);
    return;
  }
  if (runs.size() == 1) {  // everything
    po[0] = reduce_block<T>(op, px, x.numel());
    return;
  }
  if (runs.size() == 2) {
    ConstMatrixMap<T> m(px, runs[0].first, runs[1].first);
    if (runs[1].second) {  // trailing axes: one result per row
      for (Eigen::Index r = 0; r < m.rows(); ++r) po[r] = reduce_block<T>(op, m.row(r).data(), m.cols());
      return;
    }
    if (op == Reduce::Sum) {  // leading axes: sum of rows, vectorised along the row
      ArrayMap<T> o(po, m.cols());
      for (Eigen::Index r = 0; r < m.rows(); ++r) o += m.row(r).array().transpose();
      return;
    }
  }
  // General case: walk x, writing through strides that are 0 on reduced axes.
  Dims out_strides(reduced.size(), 0);
  std::int64_t stride = 1;
  for (std::size_t d = reduced.size(); d-- > 0;) {
    if (reduced[d]) continue;
    out_strides[d] = stride;
    stride *= x.shape()[d];
  }
  std::array<Dims, 2> strides{contiguous_strides(x.shape()), out_strides};
  for_each_row<2>(x.shape(), strides, [&](const auto& off, std::int64_t n, const auto& s) {
    for (std::int64_t i = 0; i < n; ++i) {
      T& acc = po[off[1] + i * s[1]];
      acc = combine(op, acc, px[off[0] + i * s[0]]);
    }
  });
}

}  // namespace

Tensor reduce(Reduce op, const Tensor& x, const Dims& axes, bool keepdims) {
  Shape shape;
  for (std::int64_t d = 0, k = 0; d < x.ndim(); ++d) {
    bool is_reduced = k < static_cast<std::int64_t>(axes.size()) && axes[k] == d;
    if (is_reduced) ++k;
    if (!is_reduced) shape.push_back(x.shape()[d]);
    else if (keepdims) shape.push_back(1);
  }
  Tensor out(shape, x.dtype());
  dispatch(x.dtype(), [&](auto tag) { reduce_typed<typename decltype(tag)::type>(op, x, axes, out); });
  return out;
}

}  // namespace eigengrad::kernels
