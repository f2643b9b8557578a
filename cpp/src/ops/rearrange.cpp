// Rearrangements written with the differentiable ops of shape.cpp and binary.cpp
// (slice, concatenate, take, where): flip, roll, tril, triu, diagonal, diag, trace,
// pad.
// Their rules are those ops' rules, so they hold at any order and with batch
// dimensions; nothing here records a node of its own.
#include <algorithm>

#include "along_axis.h"

namespace eigengrad {

using detail::constant;
using detail::narrow;
using detail::normalize_axes;
using detail::normalize_axis;

// flip(x, axes) = x[..., ::-1, ...] on each of `axes`: a slice with step -1
Variable flip(const Variable& x, const Axes& axes) {
  const Dims ax = normalize_axes("flip", axes, x.ndim());
  if (ax.empty()) return x;
  Dims starts(x.shape().size(), 0), stops(x.shape()), steps(x.shape().size(), 1);
  for (std::int64_t a : ax) {
    starts[a] = x.shape()[a] - 1;  // as slice(None, None, -1).indices(n)
    stops[a] = -1;
    steps[a] = -1;
  }
  return slice(x, starts, stops, steps);
}

// roll(x, shifts, axes): along each axis, the last s elements moved to the front
// (s = shift mod n): concatenate(x[n-s:], x[:n-s])
Variable roll(const Variable& x, const Dims& shifts, const Axes& axes) {
  if (!axes) {
    if (shifts.size() != 1)
      throw std::invalid_argument("roll: with axis=None, shift must be one integer, got " +
                                  std::to_string(shifts.size()));
    return reshape(roll(reshape(x, {-1}), shifts, Dims{0}), x.shape());
  }
  const Dims& given = *axes;
  // shift and axis broadcast against each other, as NumPy's
  if (shifts.size() != given.size() && shifts.size() != 1 && given.size() != 1)
    throw std::invalid_argument("roll: shift and axis must have the same length (or one of them length 1), got " +
                                std::to_string(shifts.size()) + " and " + std::to_string(given.size()));
  const std::size_t n = shifts.empty() || given.empty() ? 0 : std::max(shifts.size(), given.size());
  Dims total(x.shape().size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t a = normalize_axis("roll", given[given.size() == 1 ? 0 : k], x.ndim());
    const std::int64_t len = std::max<std::int64_t>(x.shape()[a], 1);
    const std::int64_t s = ((shifts[shifts.size() == 1 ? 0 : k] % len) + len) % len;
    total[a] = (total[a] + s) % len;  // repeated axes add up, as NumPy's
  }
  Variable out = x;
  for (std::int64_t a = 0; a < x.ndim(); ++a) {
    const std::int64_t len = x.shape()[a], s = total[a];
    if (len == 0 || s == 0) continue;
    out = concatenate({narrow(out, a, len - s, len), narrow(out, a, 0, len - s)}, a);
  }
  return out;
}

namespace {

// tril and triu: where(mask, x, 0) with the mask of the kept entries of the last two
// axes (j - i <= k for tril, j - i >= k for triu); the gradient is masked the same way.
Variable triangle(const char* name, const Variable& x, std::int64_t k, bool lower) {
  if (x.ndim() < 2)
    throw std::invalid_argument(std::string(name) + ": input must be at least 2-d, got shape " +
                                shape_str(x.shape()));
  const std::int64_t rows = x.shape()[x.ndim() - 2], cols = x.shape().back();
  Tensor mask(Shape{rows, cols}, DType::Float64);
  double* m = mask.data_as<double>();
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) m[i * cols + j] = (lower ? j - i <= k : j - i >= k) ? 1.0 : 0.0;
  return where(mask, x, scalar_like(0.0, x));
}

/// Flat positions (row-major in a rows x cols matrix) of its offset-th diagonal.
std::vector<std::int64_t> diagonal_positions(std::int64_t rows, std::int64_t cols, std::int64_t offset) {
  std::vector<std::int64_t> out;
  if (offset >= cols || offset <= -rows) return out;  // also keeps -offset from overflowing
  const std::int64_t r0 = offset < 0 ? -offset : 0, c0 = offset > 0 ? offset : 0;
  const std::int64_t len = std::min(rows - r0, cols - c0);
  for (std::int64_t i = 0; i < len; ++i) out.push_back((r0 + i) * cols + c0 + i);
  return out;
}

}  // namespace

Variable tril(const Variable& x, std::int64_t k) { return triangle("tril", x, k, true); }

Variable triu(const Variable& x, std::int64_t k) { return triangle("triu", x, k, false); }

// diagonal(x, offset, axis1, axis2): the two axes moved to the end and flattened
// into one, then take() at the diagonal's flat positions (its gradient puts gout
// back on the diagonal, zeros elsewhere)
Variable diagonal(const Variable& x, std::int64_t offset, std::int64_t axis1, std::int64_t axis2) {
  if (x.ndim() < 2)
    throw std::invalid_argument("diagonal: input must be at least 2-d, got shape " + shape_str(x.shape()));
  const std::int64_t a1 = normalize_axis("diagonal", axis1, x.ndim()), a2 = normalize_axis("diagonal", axis2, x.ndim());
  if (a1 == a2)
    throw std::invalid_argument("diagonal: axis1 and axis2 cannot be the same, got " + std::to_string(axis1) +
                                " and " + std::to_string(axis2) + " for shape " + shape_str(x.shape()));
  Dims perm;
  Shape flat;
  for (std::int64_t d = 0; d < x.ndim(); ++d)
    if (d != a1 && d != a2) {
      perm.push_back(d);
      flat.push_back(x.shape()[d]);
    }
  perm.push_back(a1);
  perm.push_back(a2);
  const std::int64_t rows = x.shape()[a1], cols = x.shape()[a2];
  flat.push_back(rows * cols);
  std::vector<std::int64_t> positions = diagonal_positions(rows, cols, offset);
  const Shape shape{static_cast<std::int64_t>(positions.size())};
  return take(reshape(transpose(x, perm), flat), positions, shape, -1);
}

// diag(x, k): for 1-d x of length n, the (n + |k|)-square matrix with x on the k-th
// diagonal, built as take() from [x, 0] (every off-diagonal entry takes the 0; the
// gradient of x is gout's diagonal); for 2-d x, diagonal(x, k)
Variable diag(const Variable& x, std::int64_t k) {
  if (x.ndim() == 2) return diagonal(x, k, 0, 1);
  if (x.ndim() != 1)
    throw std::invalid_argument("diag: input must be 1-d or 2-d, got shape " + shape_str(x.shape()));
  const std::int64_t n = x.shape()[0];
  if (k > (std::int64_t{1} << 32) || k < -(std::int64_t{1} << 32))
    throw std::invalid_argument("diag: offset k=" + std::to_string(k) + " is too large for a 1-d input of shape " +
                                shape_str(x.shape()) + " (the result would not fit in memory)");
  const std::int64_t m = n + (k < 0 ? -k : k);
  shape_numel(Shape{m, m}, x.dtype());  // "array is too big" or MemoryError before allocating
  std::vector<std::int64_t> idx(static_cast<std::size_t>(m * m), n);
  const std::vector<std::int64_t> positions = diagonal_positions(m, m, k);
  for (std::size_t i = 0; i < positions.size(); ++i) idx[static_cast<std::size_t>(positions[i])] = static_cast<std::int64_t>(i);
  Variable padded = concatenate({x, constant(Tensor::zeros({1}, x.dtype()))}, 0);
  return take(padded, idx, Shape{m, m}, 0);
}

// trace(x) = sum(diagonal(x, offset, axis1, axis2), -1)
Variable trace(const Variable& x, std::int64_t offset, std::int64_t axis1, std::int64_t axis2) {
  return sum(diagonal(x, offset, axis1, axis2), Dims{-1});
}

// pad(x, pad_width, value): along each axis, concatenate(full(before, value), x,
// full(after, value)); the gradient is the slice of gout that x filled
Variable pad(const Variable& x, const std::vector<std::pair<std::int64_t, std::int64_t>>& pad_width, double value) {
  if (pad_width.size() != x.shape().size())
    throw std::invalid_argument("pad: " + std::to_string(pad_width.size()) + " (before, after) pairs for an array of shape " +
                                shape_str(x.shape()));
  Variable out = x;
  for (std::int64_t a = 0; a < x.ndim(); ++a) {
    const auto [before, after] = pad_width[static_cast<std::size_t>(a)];
    if (before < 0 || after < 0)
      throw std::invalid_argument("pad: negative pad width (" + std::to_string(before) + ", " + std::to_string(after) +
                                  ") for axis " + std::to_string(a));
    if (before == 0 && after == 0) continue;
    std::vector<Variable> parts;
    for (std::int64_t width : {before, std::int64_t{-1}, after}) {
      if (width < 0) {
        parts.push_back(out);
        continue;
      }
      if (width == 0) continue;
      Shape edge = out.shape();
      edge[a] = width;
      shape_numel(edge, x.dtype());  // "array is too big" or MemoryError before allocating
      parts.push_back(constant(Tensor::full(edge, value, x.dtype())));
    }
    out = concatenate(parts, a);
  }
  return out;
}

}  // namespace eigengrad
