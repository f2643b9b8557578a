// Ops that rearrange elements: reshape, transpose, broadcasting, slicing, take,
// concatenate. Each rule is the adjoint rearrangement.
#include <algorithm>

#include "common.h"

namespace eigengrad {

using detail::normalize_axis;
using Grads = std::vector<Variable>;

namespace {

Shape resolve_reshape(const Shape& from, Shape to) {
  std::int64_t known = 1, unknown = -1;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      if (unknown >= 0) throw std::invalid_argument("reshape: can only specify one unknown dimension");
      unknown = static_cast<std::int64_t>(i);
    } else if (to[i] < 0) {
      throw std::invalid_argument("reshape: negative dimension in new shape " + shape_str(to));
    } else {
      known *= to[i];
    }
  }
  const std::int64_t n = shape_numel(from);
  if (unknown >= 0 && known != 0 && n % known == 0) to[unknown] = n / known;
  if (unknown >= 0 ? (known == 0 || n % known != 0) : known != n)
    throw std::invalid_argument("reshape: cannot reshape array of shape " + shape_str(from) +
                                " into shape " + shape_str(to));
  return to;
}

// slice_backward(g) = zeros of x's shape with g written at the sliced positions
//   vjp: gg = slice(gout)
Variable slice_backward(const Variable& g, const Shape& x_shape, const std::vector<std::int64_t>& starts,
                        const std::vector<std::int64_t>& stops, const std::vector<std::int64_t>& steps) {
  return record("slice_backward", kernels::slice_backward(g.data(), x_shape, starts, steps), {g},
                [starts, stops, steps](const BackwardArgs& a) -> Grads {
                  return {slice(a.gout, starts, stops, steps)};
                });
}

// take_backward(g) = zeros of x's shape with g added at the taken positions
//   vjp: gg = take(gout)
Variable take_backward(const Variable& g, const Shape& x_shape, const std::vector<std::int64_t>& indices,
                       const Shape& indices_shape, std::int64_t axis) {
  return record("take_backward", kernels::take_backward(g.data(), x_shape, indices, axis), {g},
                [indices, indices_shape, axis](const BackwardArgs& a) -> Grads {
                  return {take(a.gout, indices, indices_shape, axis)};
                });
}

}  // namespace

// reshape(x, shape): the same buffer seen with another shape
//   vjp: gx = reshape(gout, x.shape)
Variable reshape(const Variable& x, const Shape& shape) {
  Shape to = resolve_reshape(x.shape(), shape);
  if (to == x.shape()) return x;
  return record("reshape", x.data().view(to), {x},
                [xs = x.shape()](const BackwardArgs& a) -> Grads { return {reshape(a.gout, xs)}; });
}

// transpose(x, axes): out.shape[i] = x.shape[axes[i]]
//   vjp: gx = transpose(gout, inverse(axes))
Variable transpose(const Variable& x, const std::vector<std::int64_t>& axes) {
  const std::int64_t n = x.ndim();
  std::vector<std::int64_t> perm;
  if (axes.empty()) {
    for (std::int64_t d = n - 1; d >= 0; --d) perm.push_back(d);
  } else {
    if (static_cast<std::int64_t>(axes.size()) != n)
      throw std::invalid_argument("transpose: axes don't match array: " + std::to_string(axes.size()) +
                                  " axes for an array of shape " + shape_str(x.shape()));
    for (std::int64_t a : axes) perm.push_back(normalize_axis("transpose", a, n));
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw std::invalid_argument("transpose: repeated axis in transpose");
  }
  std::vector<std::int64_t> inverse(perm.size());
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    inverse[perm[i]] = static_cast<std::int64_t>(i);
    identity = identity && perm[i] == static_cast<std::int64_t>(i);
  }
  if (identity) return x;
  return record("transpose", kernels::transpose(x.data(), perm), {x},
                [inverse](const BackwardArgs& a) -> Grads { return {transpose(a.gout, inverse)}; });
}

// broadcast_to(x, shape): x repeated along broadcast dimensions
//   vjp: gx = sum_to(gout, x.shape)
Variable broadcast_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (kernels::broadcast_shapes("broadcast_to", x.shape(), shape) != shape)
    throw std::invalid_argument("broadcast_to: cannot broadcast an array of shape " + shape_str(x.shape()) +
                                " to shape " + shape_str(shape));
  return record("broadcast_to", kernels::broadcast_to(x.data(), shape), {x},
                [xs = x.shape()](const BackwardArgs& a) -> Grads { return {sum_to(a.gout, xs)}; });
}

// slice(x, starts, stops, steps) = x[start:stop:step, ...]
//   vjp: gx = slice_backward(gout): zeros with gout at the sliced positions
Variable slice(const Variable& x, const std::vector<std::int64_t>& starts,
               const std::vector<std::int64_t>& stops, const std::vector<std::int64_t>& steps) {
  const std::size_t n = x.shape().size();
  if (starts.size() != n || stops.size() != n || steps.size() != n)
    throw std::invalid_argument("slice: need one start, stop and step per axis of shape " + shape_str(x.shape()));
  Shape shape(n);
  for (std::size_t d = 0; d < n; ++d) {
    const std::int64_t dim = x.shape()[d], start = starts[d], stop = stops[d], step = steps[d];
    if (step == 0) throw std::invalid_argument("slice: slice step cannot be zero");
    std::int64_t len = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
    shape[d] = std::max<std::int64_t>(len, 0);
    if (shape[d] > 0) {
      const std::int64_t last = start + (shape[d] - 1) * step;
      if (start < 0 || start >= dim || last < 0 || last >= dim)
        throw std::out_of_range("slice: bounds " + std::to_string(start) + ":" + std::to_string(stop) + ":" +
                                std::to_string(step) + " are out of range for axis " + std::to_string(d) +
                                " of size " + std::to_string(dim));
    }
  }
  return record("slice", kernels::slice(x.data(), starts, steps, shape), {x},
                [xs = x.shape(), starts, stops, steps](const BackwardArgs& a) -> Grads {
                  return {slice_backward(a.gout, xs, starts, stops, steps)};
                });
}

// take(x, indices, axis) = numpy.take(x, indices, axis)
//   vjp: gx = take_backward(gout): zeros with gout added at the taken positions
//        (repeated indices add up)
Variable take(const Variable& x, const std::vector<std::int64_t>& indices, const Shape& indices_shape,
              std::int64_t axis) {
  const std::int64_t ax = normalize_axis("take", axis, x.ndim());
  if (shape_numel(indices_shape) != static_cast<std::int64_t>(indices.size()))
    throw std::invalid_argument("take: " + std::to_string(indices.size()) + " indices for index shape " +
                                shape_str(indices_shape));
  const std::int64_t dim = x.shape()[ax];
  std::vector<std::int64_t> idx(indices);
  for (std::int64_t& i : idx) {
    if (i < -dim || i >= dim)
      throw std::out_of_range("take: index " + std::to_string(i) + " is out of bounds for axis " +
                              std::to_string(ax) + " with size " + std::to_string(dim));
    if (i < 0) i += dim;
  }
  return record("take", kernels::take(x.data(), idx, indices_shape, ax), {x},
                [xs = x.shape(), idx, indices_shape, ax](const BackwardArgs& a) -> Grads {
                  return {take_backward(a.gout, xs, idx, indices_shape, ax)};
                });
}

// concatenate(xs, axis): the inputs joined along axis
//   vjp: gx_i = the slice of gout that x_i filled
Variable concatenate(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) throw std::invalid_argument("concatenate: need at least one array to concatenate");
  const Shape& first = inputs[0].shape();
  if (first.empty()) throw std::invalid_argument("concatenate: zero-dimensional arrays cannot be concatenated");
  const std::int64_t ax = normalize_axis("concatenate", axis, static_cast<std::int64_t>(first.size()));
  DType dtype = inputs[0].dtype();
  for (const Variable& x : inputs) {
    dtype = promote(dtype, x.dtype());
    bool match = x.shape().size() == first.size();
    for (std::size_t d = 0; match && d < first.size(); ++d)
      match = static_cast<std::int64_t>(d) == ax || x.shape()[d] == first[d];
    if (!match)
      throw std::invalid_argument("concatenate: all the input array dimensions except for the concatenation "
                                  "axis must match exactly, got shapes " + shape_str(first) + " and " +
                                  shape_str(x.shape()) + " for axis " + std::to_string(ax));
  }
  std::vector<Variable> xs;
  std::vector<Tensor> data;
  for (const Variable& x : inputs) {
    xs.push_back(astype(x, dtype));
    data.push_back(xs.back().data());
  }
  std::vector<std::int64_t> sizes;
  for (const Variable& x : xs) sizes.push_back(x.shape()[ax]);
  Tensor out = kernels::concatenate(data, ax);
  return record("concatenate", out, xs, [sizes, ax](const BackwardArgs& a) -> Grads {
    Grads g(sizes.size());
    const Shape& shape = a.gout.shape();
    std::vector<std::int64_t> starts(shape.size(), 0), stops(shape), steps(shape.size(), 1);
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      starts[ax] = offset;
      offset += sizes[i];
      stops[ax] = offset;
      if (a.need(i)) g[i] = slice(a.gout, starts, stops, steps);
    }
    return g;
  });
}

// stack(xs, axis) = concatenate of the inputs, each with a new axis of size 1
Variable stack(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) throw std::invalid_argument("stack: need at least one array to stack");
  const Shape& first = inputs[0].shape();
  const std::int64_t ax = normalize_axis("stack", axis, static_cast<std::int64_t>(first.size()) + 1);
  std::vector<Variable> expanded;
  for (const Variable& x : inputs) {
    if (x.shape() != first)
      throw std::invalid_argument("stack: all input arrays must have the same shape, got " + shape_str(first) +
                                  " and " + shape_str(x.shape()));
    Shape s = first;
    s.insert(s.begin() + ax, 1);
    expanded.push_back(reshape(x, s));
  }
  return concatenate(expanded, ax);
}

}  // namespace eigengrad
