// Ops that rearrange elements: reshape, transpose, broadcasting, slicing, take,
// concatenate. Each rule is the adjoint rearrangement.
#include <algorithm>

#include "common.h"

namespace eigengrad {

using detail::constant;
using detail::normalize_axis;
using detail::prefixed;
using detail::record_op;
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

/// Slice parameters with `lead` full axes in front (for batched cotangents/tangents).
struct SliceSpec {
  Dims starts, stops, steps;
  SliceSpec prefixed(const Shape& lead_shape) const {
    SliceSpec s;
    for (std::int64_t d : lead_shape) {
      s.starts.push_back(0);
      s.stops.push_back(d);
      s.steps.push_back(1);
    }
    s.starts.insert(s.starts.end(), starts.begin(), starts.end());
    s.stops.insert(s.stops.end(), stops.begin(), stops.end());
    s.steps.insert(s.steps.end(), steps.begin(), steps.end());
    return s;
  }
};

Variable slice_backward(const Variable& g, const Shape& x_shape, const SliceSpec& spec);

Variable slice_with(const Variable& x, const SliceSpec& spec) { return slice(x, spec.starts, spec.stops, spec.steps); }

// slice_backward(g) = zeros of x's shape with g written at the sliced positions
//   vjp: gg = slice(gout)
//   jvp: tout = slice_backward(tg)
Variable slice_backward(const Variable& g, const Shape& x_shape, const SliceSpec& spec) {
  return record_op("slice_backward", kernels::slice_backward(g.data(), x_shape, spec.starts, spec.steps), {g},
                   [spec](const BackwardArgs& a) -> Grads {
                     return {slice_with(a.gout, spec.prefixed(a.lead_shape()))};
                   },
                   [spec, x_shape](const JvpArgs& a) {
                     Shape lead = a.lead_shape();
                     return slice_backward(a.t(0), prefixed(lead, x_shape), spec.prefixed(lead));
                   });
}

// take_backward(g) = zeros of x's shape with g added at the taken positions
//   vjp: gg = take(gout)
//   jvp: tout = take_backward(tg)
Variable take_backward(const Variable& g, const Shape& x_shape, const std::vector<std::int64_t>& indices,
                       const Shape& indices_shape, std::int64_t axis) {
  const std::int64_t right = axis - static_cast<std::int64_t>(x_shape.size());
  return record_op("take_backward", kernels::take_backward(g.data(), x_shape, indices, axis), {g},
                   [indices, indices_shape, right](const BackwardArgs& a) -> Grads {
                     return {take(a.gout, indices, indices_shape, right)};
                   },
                   [x_shape, indices, indices_shape, axis](const JvpArgs& a) {
                     Shape lead = a.lead_shape();
                     return take_backward(a.t(0), prefixed(lead, x_shape), indices, indices_shape,
                                          axis + static_cast<std::int64_t>(lead.size()));
                   });
}

}  // namespace

// reshape(x, shape): the same buffer seen with another shape
//   vjp: gx = reshape(gout, x.shape)
//   jvp: tout = reshape(tx, out.shape)
Variable reshape(const Variable& x, const Shape& shape) {
  Shape to = resolve_reshape(x.shape(), shape);
  if (to == x.shape()) return x;
  return record_op("reshape", x.data().view(to), {x},
                   [xs = x.shape()](const BackwardArgs& a) -> Grads {
                     return {reshape(a.gout, prefixed(a.lead_shape(), xs))};
                   },
                   [to](const JvpArgs& a) { return reshape(a.t(0), prefixed(a.lead_shape(), to)); });
}

namespace {
/// `perm` shifted behind `lead` identity axes.
Dims lead_perm(std::size_t lead, const Dims& perm) {
  Dims out;
  for (std::size_t d = 0; d < lead; ++d) out.push_back(static_cast<std::int64_t>(d));
  for (std::int64_t p : perm) out.push_back(p + static_cast<std::int64_t>(lead));
  return out;
}
}  // namespace

// transpose(x, axes): out.shape[i] = x.shape[axes[i]]
//   vjp: gx = transpose(gout, inverse(axes))
//   jvp: tout = transpose(tx, axes)
Variable transpose(const Variable& x, const Dims& axes) {
  const std::int64_t n = x.ndim();
  Dims perm;
  if (axes.empty()) {
    for (std::int64_t d = n - 1; d >= 0; --d) perm.push_back(d);
  } else {
    if (static_cast<std::int64_t>(axes.size()) != n)
      throw std::invalid_argument("transpose: axes don't match array: " + std::to_string(axes.size()) +
                                  " axes for an array of shape " + shape_str(x.shape()));
    for (std::int64_t a : axes) perm.push_back(normalize_axis("transpose", a, n));
    Dims sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw std::invalid_argument("transpose: repeated axis in transpose");
  }
  Dims inverse(perm.size());
  bool identity = true;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    inverse[perm[i]] = static_cast<std::int64_t>(i);
    identity = identity && perm[i] == static_cast<std::int64_t>(i);
  }
  if (identity) return x;
  return record_op("transpose", kernels::transpose(x.data(), perm), {x},
                   [inverse](const BackwardArgs& a) -> Grads {
                     return {transpose(a.gout, lead_perm(a.lead, inverse))};
                   },
                   [perm](const JvpArgs& a) { return transpose(a.t(0), lead_perm(a.lead, perm)); });
}

// broadcast_to(x, shape): x repeated along broadcast dimensions
//   vjp: gx = unbroadcast(gout, x.shape)
//   jvp: tout = broadcast_to(tx aligned with out, out.shape)
Variable broadcast_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  for (std::int64_t d : shape)
    if (d < 0)
      throw std::invalid_argument("broadcast_to: all elements of broadcast shape must be non-negative, got " +
                                  shape_str(shape));
  if (kernels::broadcast_shapes("broadcast_to", x.shape(), shape) != shape)
    throw std::invalid_argument("broadcast_to: cannot broadcast an array of shape " + shape_str(x.shape()) +
                                " to shape " + shape_str(shape));
  return record_op("broadcast_to", kernels::broadcast_to(x.data(), shape), {x},
                   [xs = x.shape()](const BackwardArgs& a) -> Grads {
                     return {detail::unbroadcast(a.gout, xs, a.lead)};
                   },
                   [xs = x.shape(), shape](const JvpArgs& a) {
                     return broadcast_to(detail::align(a.t(0), xs, shape.size()), prefixed(a.lead_shape(), shape));
                   });
}

// slice(x, starts, stops, steps) = x[start:stop:step, ...]
//   vjp: gx = slice_backward(gout): zeros with gout at the sliced positions
//   jvp: tout = slice(tx)
Variable slice(const Variable& x, const Dims& starts, const Dims& stops, const Dims& steps) {
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
  SliceSpec spec{starts, stops, steps};
  return record_op("slice", kernels::slice(x.data(), starts, steps, shape), {x},
                   [xs = x.shape(), spec](const BackwardArgs& a) -> Grads {
                     Shape lead = a.lead_shape();
                     return {slice_backward(a.gout, prefixed(lead, xs), spec.prefixed(lead))};
                   },
                   [spec](const JvpArgs& a) { return slice_with(a.t(0), spec.prefixed(a.lead_shape())); });
}

// take(x, indices, axis) = numpy.take(x, indices, axis)
//   vjp: gx = take_backward(gout): zeros with gout added at the taken positions
//        (repeated indices add up)
//   jvp: tout = take(tx, indices, axis)
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
  return record_op("take", kernels::take(x.data(), idx, indices_shape, ax), {x},
                   [xs = x.shape(), idx, indices_shape, ax](const BackwardArgs& a) -> Grads {
                     Shape lead = a.lead_shape();
                     return {take_backward(a.gout, prefixed(lead, xs), idx, indices_shape,
                                           ax + static_cast<std::int64_t>(lead.size()))};
                   },
                   [idx, indices_shape, right = ax - x.ndim()](const JvpArgs& a) {
                     return take(a.t(0), idx, indices_shape, right);
                   });
}

// concatenate(xs, axis): the inputs joined along axis
//   vjp: gx_i = the slice of gout that x_i filled
//   jvp: tout = concatenate(tx_i (zeros where x_i has none), axis)
Variable concatenate(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) throw std::invalid_argument("concatenate: need at least one array to concatenate");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) throw TypeError("concatenate: array " + std::to_string(i) + " is None");
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
  Dims sizes;
  for (const Variable& x : xs) sizes.push_back(x.shape()[ax]);
  Tensor out = kernels::concatenate(data, ax);
  const std::int64_t right = ax - static_cast<std::int64_t>(first.size());
  auto vjp = [sizes, right](const BackwardArgs& a) -> Grads {
    Grads g(sizes.size());
    const Shape& shape = a.gout.shape();
    const std::size_t axis = shape.size() + right;
    Dims starts(shape.size(), 0), stops(shape), steps(shape.size(), 1);
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      starts[axis] = offset;
      offset += sizes[i];
      stops[axis] = offset;
      if (a.need(i)) g[i] = slice(a.gout, starts, stops, steps);
    }
    return g;
  };
  auto jvp = [xs, right](const JvpArgs& a) {
    std::vector<Variable> ts;
    for (std::size_t i = 0; i < xs.size(); ++i)
      ts.push_back(a.has(i) ? a.t(i)
                            : constant(Tensor::zeros(prefixed(a.lead_shape(), xs[i].shape()), xs[i].dtype())));
    return concatenate(ts, right);
  };
  bool grad = false;
  if (grad_enabled())
    for (const Variable& x : xs) grad = grad || x.requires_grad();
  if (!grad && !needs_tangent(xs)) {
    if (!grad_enabled()) detail::note_reads(xs.data(), xs.size());
    if (GradMonitor* monitor = detail::active_monitor()) monitor->on_recorded("concatenate", out, nullptr);
    return Variable(out);
  }
  return record("concatenate", out, xs, grad ? BackwardFn(vjp) : BackwardFn(),
                needs_tangent(xs) ? JvpFn(jvp) : JvpFn());
}

// alias(x) = x, as a new Variable
//   vjp: gx = gout
//   jvp: tout = tx
Variable alias(const Variable& x) {
  return record_op("alias", x.data(), {x}, [](const BackwardArgs& a) -> Grads { return {a.gout}; },
                   [](const JvpArgs& a) { return a.t(0); });
}

// copy(x) = x, in a buffer of its own
//   vjp: gx = gout
//   jvp: tout = tx
Variable copy(const Variable& x) {
  return record_op("copy", x.data().clone(), {x}, [](const BackwardArgs& a) -> Grads { return {a.gout}; },
                   [](const JvpArgs& a) { return a.t(0); });
}

// stack(xs, axis) = concatenate of the inputs, each with a new axis of size 1
Variable stack(const std::vector<Variable>& inputs, std::int64_t axis) {
  if (inputs.empty()) throw std::invalid_argument("stack: need at least one array to stack");
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) throw TypeError("stack: array " + std::to_string(i) + " is None");
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
