// Element-wise ops of two or three inputs, with NumPy broadcasting. VJPs give
// cotangents of the broadcast shape and `unbroadcast` sums them to each input's
// shape; JVPs `align` each input's tangent with the output before combining.
#include <cmath>

#include "common.h"

namespace eigengrad {

using kernels::Binary;
using detail::align;
using detail::constant;
using detail::promote_pair;
using detail::record_op;
using detail::unbroadcast;
using Grads = std::vector<Variable>;

namespace {
Tensor run(Binary op, const Variable& x, const Variable& y, const char* name) {
  return kernels::binary(op, x.data(), y.data(), name);
}
/// A constant mask computed from the inputs' values (not differentiated).
Variable mask(Binary op, const Variable& x, const Variable& y) {
  return constant(kernels::binary(op, x.data(), y.data()));
}
/// a + b where either may be undefined (a zero tangent).
Variable add_defined(const Variable& a, const Variable& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}
/// The tangent of input i aligned with the output, times `factor` (undefined if none).
template <class Factor>
Variable term(const JvpArgs& a, std::size_t i, const Variable& input, Factor factor) {
  if (!a.has(i)) return Variable();
  return factor(align(a.t(i), input.shape(), static_cast<std::size_t>(a.out.ndim())));
}
}  // namespace

// add(x, y) = x + y
//   vjp: gx = unbroadcast(gout), gy = unbroadcast(gout)
//   jvp: tout = tx + ty
Variable add(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("add", run(Binary::Add, x, y, "add"), {x, y},
                   [xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout, xs, a.lead) : Variable(),
                             a.need(1) ? unbroadcast(a.gout, ys, a.lead) : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     auto same = [](const Variable& t) { return t; };
                     return add_defined(term(a, 0, x, same), term(a, 1, y, same));
                   });
}

// sub(x, y) = x - y
//   vjp: gx = unbroadcast(gout), gy = unbroadcast(-gout)
//   jvp: tout = tx - ty
Variable sub(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("sub", run(Binary::Sub, x, y, "sub"), {x, y},
                   [xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout, xs, a.lead) : Variable(),
                             a.need(1) ? unbroadcast(neg(a.gout), ys, a.lead) : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [](const Variable& t) { return t; }),
                                        term(a, 1, y, [](const Variable& t) { return neg(t); }));
                   });
}

// mul(x, y) = x * y
//   vjp: gx = unbroadcast(gout * y), gy = unbroadcast(gout * x)
//   jvp: tout = tx * y + x * ty
Variable mul(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("mul", run(Binary::Mul, x, y, "mul"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout * y, x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(a.gout * x, y.shape(), a.lead) : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return t * y; }),
                                        term(a, 1, y, [&](const Variable& t) { return x * t; }));
                   });
}

// div(x, y) = x / y
//   vjp: gx = unbroadcast(gout / y), gy = unbroadcast(-gout * out / y)
//   jvp: tout = (tx - out * ty) / y
Variable div(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("div", run(Binary::Div, x, y, "div"), {x, y},
                   [xs = x.shape(), y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout / y, xs, a.lead) : Variable(),
                             a.need(1) ? unbroadcast(neg(a.gout * a.out / y), y.shape(), a.lead) : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return t / y; }),
                                        term(a, 1, y, [&](const Variable& t) { return neg(a.out * t / y); }));
                   }, true);
}

// pow(x, y) = x ** y
//   dx = (x == 0 and y == 0 ? 0 : y * x ** (y - 1)),  dy = (x == 0 ? 0 : out * log(x))
//   vjp: gx = unbroadcast(gout * dx), gy = unbroadcast(gout * dy)
//   jvp: tout = tx * dx + ty * dy
//   Why the guards: they give d/dx x**0 = 0 at x = 0 and d/dy x**y = 0 at x = 0,
//   where the plain formulas evaluate 0 * inf.
Variable pow(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  auto dx = [x, y] {
    // Zero only where both are 0 (elsewhere y x^(y-1) is finite, and must stay a
    // function of y for second derivatives at y = 0).
    Tensor keep = kernels::binary(Binary::Maximum, mask(Binary::NonZeroMask, y, y).data(),
                                  mask(Binary::NonZeroMask, x, x).data());
    return where(keep, y * pow(x, y - 1.0), scalar_like(0.0, x));
  };
  auto dy = [x](const Variable& out) {
    return where(mask(Binary::NonZeroMask, x, x).data(), out * log(x), scalar_like(0.0, x));
  };
  return record_op("pow", run(Binary::Pow, x, y, "pow"), {x, y},
                   [x, y, dx, dy](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout * dx(), x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(a.gout * dy(a.out), y.shape(), a.lead) : Variable()};
                   },
                   [x, y, dx, dy](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return t * dx(); }),
                                        term(a, 1, y, [&](const Variable& t) { return t * dy(a.out); }));
                   }, true);
}

// maximum(x, y), NaN propagating
//   w(a, b) = 1 if a > b or a is NaN, 1/2 on a tie, 0 otherwise
//   vjp: gx = unbroadcast(gout * w(x, y)), gy = unbroadcast(gout * w(y, x))
//   jvp: tout = tx * w(x, y) + ty * w(y, x)
Variable maximum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("maximum", run(Binary::Maximum, x, y, "maximum"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout * mask(Binary::MaxWeight, x, y), x.shape(), a.lead)
                                       : Variable(),
                             a.need(1) ? unbroadcast(a.gout * mask(Binary::MaxWeight, y, x), y.shape(), a.lead)
                                       : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(
                         term(a, 0, x, [&](const Variable& t) { return t * mask(Binary::MaxWeight, x, y); }),
                         term(a, 1, y, [&](const Variable& t) { return t * mask(Binary::MaxWeight, y, x); }));
                   });
}

// minimum(x, y), NaN propagating
//   vjp, jvp: as maximum, with the weights of the smaller value
Variable minimum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("minimum", run(Binary::Minimum, x, y, "minimum"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(a.gout * mask(Binary::MinWeight, x, y), x.shape(), a.lead)
                                       : Variable(),
                             a.need(1) ? unbroadcast(a.gout * mask(Binary::MinWeight, y, x), y.shape(), a.lead)
                                       : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(
                         term(a, 0, x, [&](const Variable& t) { return t * mask(Binary::MinWeight, x, y); }),
                         term(a, 1, y, [&](const Variable& t) { return t * mask(Binary::MinWeight, y, x); }));
                   });
}

// where(c, x, y) = c ? x : y
//   vjp: gx = unbroadcast(where(c, gout, 0)), gy = unbroadcast(where(c, 0, gout))
//   jvp: tout = where(c, tx, ty)
Variable where(const Tensor& condition, const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  Shape xy = kernels::broadcast_shapes("where", x.shape(), y.shape());
  kernels::broadcast_shapes("where", condition.shape(), xy);
  return record_op("where", kernels::where(condition, x.data(), y.data()), {x, y},
                   [condition, xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                     Variable zero = scalar_like(0.0, a.gout);
                     return {a.need(0) ? unbroadcast(where(condition, a.gout, zero), xs, a.lead) : Variable(),
                             a.need(1) ? unbroadcast(where(condition, zero, a.gout), ys, a.lead) : Variable()};
                   },
                   [condition, x, y](const JvpArgs& a) {
                     const std::size_t n = static_cast<std::size_t>(a.out.ndim());
                     Variable zero = scalar_like(0.0, a.out);
                     return where(condition, a.has(0) ? align(a.t(0), x.shape(), n) : zero,
                                  a.has(1) ? align(a.t(1), y.shape(), n) : zero);
                   });
}

// clip(x, lo, hi) = minimum(maximum(x, lo), hi)
//   vjp: gx = gout * [lo <= x <= hi or x is NaN]
//   jvp: tout = tx * [lo <= x <= hi or x is NaN]
Variable clip(const Variable& x, std::optional<double> lo, std::optional<double> hi) {
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  if (std::isnan(l) || std::isnan(h))
    throw std::invalid_argument("clip: the bounds must not be NaN");
  auto inside = [x, l, h] { return constant(kernels::clip_mask(x.data(), l, h)); };
  return record_op("clip", kernels::clip(x.data(), l, h), {x},
                   [inside](const BackwardArgs& a) -> Grads { return {a.gout * inside()}; },
                   [inside](const JvpArgs& a) { return a.t(0) * inside(); });
}

// astype(x, dtype): the values in another float dtype
//   vjp: gx = astype(gout, x.dtype)
//   jvp: tout = astype(tx, dtype)
Variable astype(const Variable& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return record_op("astype", x.data().to(dtype), {x},
                   [from = x.dtype()](const BackwardArgs& a) -> Grads { return {astype(a.gout, from)}; },
                   [dtype](const JvpArgs& a) { return astype(a.t(0), dtype); });
}

}  // namespace eigengrad
