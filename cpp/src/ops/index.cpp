// Indexing along an axis with integer arrays: take_along_axis and its adjoint
// scatter_add, sort, and the integer results argsort, argmax and argmin (not
// differentiable: IndexArray, not Variable). Positions are turned into flat offsets
// once, here, and then moved by take (shape.cpp) and the scatter_add op below.
#include <algorithm>

#include "../kernels/scan.h"
#include "../kernels/strided.h"
#include "along_axis.h"

namespace eigengrad {

using detail::constant;
using detail::normalize_axis;
using detail::prefixed;
using detail::record_op;
using Grads = std::vector<Variable>;

namespace {

/// Checks that `indices` holds one value per element of its shape and has x's ndim.
void check_index_array(const char* op, const IndexArray& indices, const Shape& x_shape) {
  if (static_cast<std::int64_t>(indices.values.size()) != shape_numel(indices.shape))
    throw std::invalid_argument(std::string(op) + ": " + std::to_string(indices.values.size()) +
                                " indices for index shape " + shape_str(indices.shape));
  if (indices.shape.size() != x_shape.size())
    throw std::invalid_argument(std::string(op) + ": indices of shape " + shape_str(indices.shape) +
                                " must have as many dimensions as the array of shape " + shape_str(x_shape));
}

/// For every position p of `out_shape` (row-major), the flat offset in an array of
/// `x_shape` of p with its `axis` coordinate replaced by the index at p (`indices`
/// of `idx_shape`, broadcast to out_shape: a size-1 axis repeats). Indices in
/// [-n, n) for n = x_shape[axis]; others raise IndexError naming `op`.
std::vector<std::int64_t> flat_offsets(const char* op, const Shape& x_shape, const IndexArray& indices,
                                       const Shape& out_shape, std::int64_t axis) {
  const std::int64_t n = x_shape[axis], total = shape_numel(out_shape);
  const Dims xs = kernels::contiguous_strides(x_shape), is = kernels::contiguous_strides(indices.shape);
  std::vector<std::int64_t> out(static_cast<std::size_t>(total));
  Dims pos(out_shape.size(), 0);
  for (std::int64_t flat = 0; flat < total; ++flat) {
    std::int64_t at = 0, offset = 0;
    for (std::size_t d = 0; d < out_shape.size(); ++d) {
      if (indices.shape[d] != 1) at += pos[d] * is[d];
      if (static_cast<std::int64_t>(d) != axis) offset += pos[d] * xs[d];
    }
    std::int64_t i = indices.values[static_cast<std::size_t>(at)];
    if (i < -n || i >= n)
      throw std::out_of_range(std::string(op) + ": index " + std::to_string(i) + " is out of bounds for axis " +
                              std::to_string(axis) + " with size " + std::to_string(n));
    out[static_cast<std::size_t>(flat)] = offset + (i < 0 ? i + n : i) * xs[axis];
    for (std::size_t d = out_shape.size(); d-- > 0;) {  // next position, row-major
      if (++pos[d] < out_shape[d]) break;
      pos[d] = 0;
    }
  }
  return out;
}

// scatter_add along the last axis: base (batch..., N) with values (batch..., idx)
// added at the flat positions `offsets` (one per element of idx's shape)
//   vjp: gbase = gout,  gvalues = take(gout, offsets, -1)
//   jvp: tout = scatter_add(tbase, tvalues) (a missing tangent is zero)
Variable scatter_last(const Variable& base, const Variable& values, const std::vector<std::int64_t>& offsets,
                      const Shape& idx_shape) {
  const std::int64_t last = base.ndim() - 1;
  Tensor added = kernels::take_backward(values.data(), base.shape(), offsets, last);
  return record_op("scatter_add", kernels::binary(kernels::Binary::Add, base.data(), added), {base, values},
                   [offsets, idx_shape](const BackwardArgs& a) -> Grads {
                     return {a.gout, a.need(1) ? take(a.gout, offsets, idx_shape, -1) : Variable()};
                   },
                   [base, values, offsets, idx_shape](const JvpArgs& a) {
                     if (!a.has(1)) return a.t(0);
                     const Shape lead = a.lead_shape();
                     Variable tb = a.has(0) ? a.t(0)
                                            : constant(Tensor::zeros(prefixed(lead, base.shape()), base.dtype()));
                     return scatter_last(tb, a.t(1), offsets, idx_shape);
                   });
}

}  // namespace

// take_along_axis(x, indices, axis): x and indices broadcast on the other axes; the
// result is take() of the flattened x at the flat offsets of the picked elements
Variable take_along_axis(const Variable& x, const IndexArray& indices, std::int64_t axis) {
  const std::int64_t ax = normalize_axis("take_along_axis", axis, x.ndim());
  check_index_array("take_along_axis", indices, x.shape());
  Shape source = x.shape(), out_shape = indices.shape;
  for (std::int64_t d = 0; d < x.ndim(); ++d) {
    if (d == ax || x.shape()[d] == indices.shape[d]) continue;
    if (x.shape()[d] != 1 && indices.shape[d] != 1)
      throw std::invalid_argument("take_along_axis: indices of shape " + shape_str(indices.shape) +
                                  " do not broadcast with the array of shape " + shape_str(x.shape()) +
                                  " on axis " + std::to_string(d));
    source[d] = out_shape[d] = std::max(x.shape()[d], indices.shape[d]);
  }
  const std::vector<std::int64_t> offsets = flat_offsets("take_along_axis", source, indices, out_shape, ax);
  return take(reshape(broadcast_to(x, source), {-1}), offsets, out_shape, 0);
}

// scatter_add(x, indices, values, axis) = x with values added at the positions of
// take_along_axis(x, indices, axis): the scatter_add op above on the flattened x
Variable scatter_add(const Variable& x0, const IndexArray& indices, const Variable& values0, std::int64_t axis) {
  auto [x, values] = detail::promote_pair(x0, values0);
  const std::int64_t ax = normalize_axis("scatter_add", axis, x.ndim());
  check_index_array("scatter_add", indices, x.shape());
  for (std::int64_t d = 0; d < x.ndim(); ++d)
    if (d != ax && indices.shape[d] > x.shape()[d])
      throw std::invalid_argument("scatter_add: indices of shape " + shape_str(indices.shape) +
                                  " are larger than the array of shape " + shape_str(x.shape()) + " on axis " +
                                  std::to_string(d));
  if (kernels::broadcast_shapes("scatter_add", values.shape(), indices.shape) != indices.shape)
    throw std::invalid_argument("scatter_add: values of shape " + shape_str(values.shape()) +
                                " do not broadcast to the indices' shape " + shape_str(indices.shape));
  const std::vector<std::int64_t> offsets = flat_offsets("scatter_add", x.shape(), indices, indices.shape, ax);
  Variable flat = scatter_last(reshape(x, {-1}), broadcast_to(values, indices.shape), offsets, indices.shape);
  return reshape(flat, x.shape());
}

IndexArray argsort(const Variable& x, std::int64_t axis) {
  const std::int64_t ax = normalize_axis("argsort", axis, x.ndim());
  return IndexArray{kernels::argsort(x.data(), ax), x.shape()};
}

// sort(x) = take_along_axis(x, argsort(x)): the gradient goes back through the
// permutation (take's rule)
Variable sort(const Variable& x, std::int64_t axis) {
  const std::int64_t ax = normalize_axis("sort", axis, x.ndim());
  return take_along_axis(x, argsort(x, ax), ax);
}

namespace {
IndexArray arg_extremum(const char* name, const Variable& x, std::optional<std::int64_t> axis, bool keepdims,
                        bool max) {
  if (!axis) {
    if (x.numel() == 0)
      throw std::invalid_argument(std::string(name) + ": attempt to get " + name +
                                  " of an empty sequence (shape " + shape_str(x.shape()) + ")");
    Shape shape = keepdims ? Shape(x.shape().size(), 1) : Shape{};
    return IndexArray{kernels::argextremum(x.data().view({x.numel()}), 0, max), shape};
  }
  const std::int64_t ax = normalize_axis(name, *axis, x.ndim());
  if (x.shape()[ax] == 0)
    throw std::invalid_argument(std::string(name) + ": attempt to get " + name + " of an empty sequence (axis " +
                                std::to_string(ax) + " of shape " + shape_str(x.shape()) + ")");
  Shape shape = x.shape();
  if (keepdims) shape[ax] = 1;
  else shape.erase(shape.begin() + ax);
  return IndexArray{kernels::argextremum(x.data(), ax, max), shape};
}
}  // namespace

IndexArray argmax(const Variable& x, std::optional<std::int64_t> axis, bool keepdims) {
  return arg_extremum("argmax", x, axis, keepdims, true);
}

IndexArray argmin(const Variable& x, std::optional<std::int64_t> axis, bool keepdims) {
  return arg_extremum("argmin", x, axis, keepdims, false);
}

}  // namespace eigengrad
