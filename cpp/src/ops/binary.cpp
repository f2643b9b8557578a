// Element-wise ops of two or three inputs, with NumPy broadcasting. VJPs give
// cotangents of the broadcast shape and `unbroadcast` sums them to each input's
// shape; JVPs `align` each input's tangent with the output before combining.
#include <atomic>
#include <cmath>

#include "common.h"

namespace eigengrad {

using kernels::Binary;
using detail::align;
using detail::masked_mul;
using detail::constant;
using detail::promote_pair;
using detail::record_op;
using detail::strong_div;
using detail::strong_mul;
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
//   (each product of a cotangent or tangent: strong_mul, Note [Strong zero])
Variable mul(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("mul", run(Binary::Mul, x, y, "mul"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(strong_mul(a.gout, y), x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(strong_mul(a.gout, x), y.shape(), a.lead) : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return strong_mul(t, y); }),
                                        term(a, 1, y, [&](const Variable& t) { return strong_mul(t, x); }));
                   });
}

// div(x, y) = x / y
//   vjp: gx = unbroadcast(gout / y), gy = unbroadcast(-gout * out / y)
//   jvp: tout = (tx - out * ty) / y
//   (strong_mul and strong_div: 0 / 0 is 0 for a zero cotangent at y = 0)
Variable div(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("div", run(Binary::Div, x, y, "div"), {x, y},
                   [xs = x.shape(), y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(strong_div(a.gout, y), xs, a.lead) : Variable(),
                             a.need(1) ? unbroadcast(neg(strong_div(strong_mul(a.gout, a.out), y)), y.shape(), a.lead)
                                       : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return strong_div(t, y); }),
                                        term(a, 1, y, [&](const Variable& t) {
                                          return neg(strong_div(strong_mul(t, a.out), y));
                                        }));
                   }, true);
}

// pow(x, y) = x ** y
//   dx = (x == 0 and y == 0 ? 0 : y * x ** (y - 1)),  dy = (x == 0 ? 0 : out * log(x))
//   vjp: gx = unbroadcast(gout * dx), gy = unbroadcast(gout * dy)
//   jvp: tout = tx * dx + ty * dy
//   Why the guards: they give d/dx x**0 = 0 at x = 0 and d/dy x**y = 0 at x = 0,
//   where the plain formulas evaluate 0 * inf. Elsewhere dx and dy may be inf or
//   NaN (0 ** -1, (-1) ** 0.5): the products with gout and the tangents are
//   strong_mul (Note [Strong zero]).
//   A constant nonzero scalar exponent (x ** 2) needs no guard: dx is y x^(y-1)
//   everywhere, the same values without the masks and the where (which a
//   Hessian-vector product would otherwise also carry tangents through).
Variable pow(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  auto dx = [x, y] {
    // Asked when a rule runs, not on every pow: the forward without a graph pays nothing.
    if (y.numel() == 1 && !y.requires_grad() && y.impl()->tangents.empty() && y.item() != 0.0)
      return y * pow(x, y - 1.0);
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
                     return {a.need(0) ? unbroadcast(strong_mul(a.gout, dx()), x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(strong_mul(a.gout, dy(a.out)), y.shape(), a.lead) : Variable()};
                   },
                   [x, y, dx, dy](const JvpArgs& a) {
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return strong_mul(t, dx()); }),
                                        term(a, 1, y, [&](const Variable& t) { return strong_mul(t, dy(a.out)); }));
                   }, true);
}

// maximum(x, y), NaN propagating
//   w(a, b) = 1 if a > b or a is NaN, 1/2 on a tie, 0 otherwise
//   vjp: gx = unbroadcast(gout * w(x, y)), gy = unbroadcast(gout * w(y, x))
//   jvp: tout = tx * w(x, y) + ty * w(y, x)
//   (masked_mul: the input not selected gets exactly 0, as in PyTorch, even from an
//   inf or NaN cotangent)
Variable maximum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("maximum", run(Binary::Maximum, x, y, "maximum"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(masked_mul(mask(Binary::MaxWeight, x, y), a.gout), x.shape(),
                                                     a.lead)
                                       : Variable(),
                             a.need(1) ? unbroadcast(masked_mul(mask(Binary::MaxWeight, y, x), a.gout), y.shape(),
                                                     a.lead)
                                       : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(
                         term(a, 0, x, [&](const Variable& t) { return masked_mul(mask(Binary::MaxWeight, x, y), t); }),
                         term(a, 1, y,
                              [&](const Variable& t) { return masked_mul(mask(Binary::MaxWeight, y, x), t); }));
                   });
}

// minimum(x, y), NaN propagating
//   vjp, jvp: as maximum, with the weights of the smaller value
Variable minimum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record_op("minimum", run(Binary::Minimum, x, y, "minimum"), {x, y},
                   [x, y](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(masked_mul(mask(Binary::MinWeight, x, y), a.gout), x.shape(),
                                                     a.lead)
                                       : Variable(),
                             a.need(1) ? unbroadcast(masked_mul(mask(Binary::MinWeight, y, x), a.gout), y.shape(),
                                                     a.lead)
                                       : Variable()};
                   },
                   [x, y](const JvpArgs& a) {
                     return add_defined(
                         term(a, 0, x, [&](const Variable& t) { return masked_mul(mask(Binary::MinWeight, x, y), t); }),
                         term(a, 1, y,
                              [&](const Variable& t) { return masked_mul(mask(Binary::MinWeight, y, x), t); }));
                   });
}

// logaddexp(x, y) = log(e^x + e^y), NumPy's (logaddexp(-inf, -inf) = -inf)
//   d = x - y, but 0 where x == y == +-inf (there inf - inf is NaN; the limit along
//   x == y gives each input half, as a tie in maximum)
//   vjp: gx = unbroadcast(gout * sigmoid(d)), gy = unbroadcast(gout * sigmoid(-d))
//   jvp: tout = tx * sigmoid(d) + ty * sigmoid(-d)
Variable logaddexp(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  auto diff = [x, y] { return where(mask(Binary::SameInfinity, x, y).data(), scalar_like(0.0, x), sub(x, y)); };
  return record_op("logaddexp", run(Binary::Logaddexp, x, y, "logaddexp"), {x, y},
                   [x, y, diff](const BackwardArgs& a) -> Grads {
                     Variable d = diff();
                     return {a.need(0) ? unbroadcast(strong_mul(a.gout, sigmoid(d)), x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(strong_mul(a.gout, sigmoid(neg(d))), y.shape(), a.lead)
                                       : Variable()};
                   },
                   [x, y, diff](const JvpArgs& a) {
                     Variable d = diff();
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return strong_mul(t, sigmoid(d)); }),
                                        term(a, 1, y, [&](const Variable& t) { return strong_mul(t, sigmoid(neg(d))); }));
                   });
}

// arctan2(x, y) = the angle of the point (y, x), NumPy's
//   r2 = x^2 + y^2, but 1 at the origin (where both derivatives are then 0: the
//   convention, as the gradient of the norm at 0)
//   vjp: gx = unbroadcast(gout * y / r2), gy = unbroadcast(-gout * x / r2)
//   jvp: tout = tx * y / r2 - ty * x / r2
Variable arctan2(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  auto r2 = [x, y] {
    Variable s = add(square(x), square(y));
    return where(mask(Binary::NonZeroMask, s, s).data(), s, scalar_like(1.0, s));
  };
  return record_op("arctan2", run(Binary::Arctan2, x, y, "arctan2"), {x, y},
                   [x, y, r2](const BackwardArgs& a) -> Grads {
                     Variable r = r2();
                     return {a.need(0) ? unbroadcast(strong_mul(a.gout, div(y, r)), x.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(neg(strong_mul(a.gout, div(x, r))), y.shape(), a.lead)
                                       : Variable()};
                   },
                   [x, y, r2](const JvpArgs& a) {
                     Variable r = r2();
                     return add_defined(term(a, 0, x, [&](const Variable& t) { return strong_mul(t, div(y, r)); }),
                                        term(a, 1, y, [&](const Variable& t) { return neg(strong_mul(t, div(x, r))); }));
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
//   vjp: gx = gout * [lo <= x <= hi or x is NaN]   (masked_mul, as maximum)
//   jvp: tout = tx * [lo <= x <= hi or x is NaN]
Variable clip(const Variable& x, std::optional<double> lo, std::optional<double> hi) {
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  if (std::isnan(l) || std::isnan(h))
    throw std::invalid_argument("clip: the bounds must not be NaN");
  auto inside = [x, l, h] { return constant(kernels::clip_mask(x.data(), l, h)); };
  return record_op("clip", kernels::clip(x.data(), l, h), {x},
                   [inside](const BackwardArgs& a) -> Grads { return {masked_mul(inside(), a.gout)}; },
                   [inside](const JvpArgs& a) { return masked_mul(inside(), a.t(0)); });
}

// ---- strong zero (Note [Strong zero] in kernels/strong_zero.h) ----------------------

namespace {
std::atomic<bool> strong_zero_on{true};
}  // namespace

bool strong_zero_enabled() { return strong_zero_on.load(std::memory_order_relaxed); }
void set_strong_zero(bool enabled) { strong_zero_on.store(enabled, std::memory_order_relaxed); }

namespace detail {

namespace {
/// `v` where `m` is nonzero, else 0 (a select, not a product).
Variable where_nonzero(const Variable& m, const Variable& v) {
  return where(kernels::binary(Binary::NonZeroMask, m.data(), m.data()), v, scalar_like(0.0, v));
}
}  // namespace

// strong_mul(g, d) = g * d, but 0 where g == 0 (also where d is inf or NaN)
//   vjp: gg = unbroadcast(strong_mul(gout, d)), gd = unbroadcast([g != 0] strong_mul(gout, g))
//   jvp: tout = strong_mul(tg, d) + [g != 0] strong_mul(td, g)
//   Why the selects [g != 0]: where g == 0 the value is 0 whatever d is, so d is not
//   connected there (as the branch not taken of a where), and an inf or NaN tangent
//   of d (forward over reverse through sqrt at x < 0) must not reach the result.
namespace {
Variable record_strong_mul(const Variable& g0, const Variable& d0) {
  auto [g, d] = promote_pair(g0, d0);
  return record_op("strong_mul", run(Binary::StrongMul, g, d, "strong_mul"), {g, d},
                   [g, d](const BackwardArgs& a) -> Grads {
                     return {a.need(0) ? unbroadcast(strong_mul(a.gout, d), g.shape(), a.lead) : Variable(),
                             a.need(1) ? unbroadcast(where_nonzero(g, strong_mul(a.gout, g)), d.shape(), a.lead)
                                       : Variable()};
                   },
                   [g, d](const JvpArgs& a) {
                     return add_defined(
                         term(a, 0, g, [&](const Variable& t) { return strong_mul(t, d); }),
                         term(a, 1, d, [&](const Variable& t) { return where_nonzero(g, strong_mul(t, g)); }));
                   });
}
}  // namespace

Variable strong_mul(const Variable& g, const Variable& d) {
  return strong_zero_enabled() ? record_strong_mul(g, d) : mul(g, d);
}

// masked_mul(w, g) = strong_mul(w, g) in both modes: w, the constant mask, is the
// factor whose zero wins (its rules above are a select where w == 0).
Variable masked_mul(const Variable& w, const Variable& g) { return record_strong_mul(w, g); }

// strong_div(g, y) = g / y, but 0 where g == 0 (also where y is 0 or NaN)
//   vjp: gg = unbroadcast(strong_div(gout, y)),
//        gy = unbroadcast([out != 0] -strong_div(strong_mul(gout, out), y))
//   jvp: tout = strong_div(tg, y) - [out != 0] strong_div(strong_mul(ty, out), y)
//   (the selects as in strong_mul: out is 0 where g is, and where out is 0 for
//   another reason, g / y^2 is 0 too)
Variable strong_div(const Variable& g0, const Variable& y0) {
  if (!strong_zero_enabled()) return div(g0, y0);
  auto [g, y] = promote_pair(g0, y0);
  return record_op("strong_div", run(Binary::StrongDiv, g, y, "strong_div"), {g, y},
                   [gs = g.shape(), y](const BackwardArgs& a) -> Grads {
                     if (!a.need(1)) return {unbroadcast(strong_div(a.gout, y), gs, a.lead), Variable()};
                     Variable gy = where_nonzero(a.out, neg(strong_div(strong_mul(a.gout, a.out), y)));
                     return {a.need(0) ? unbroadcast(strong_div(a.gout, y), gs, a.lead) : Variable(),
                             unbroadcast(gy, y.shape(), a.lead)};
                   },
                   [g, y](const JvpArgs& a) {
                     return add_defined(term(a, 0, g, [&](const Variable& t) { return strong_div(t, y); }),
                                        term(a, 1, y, [&](const Variable& t) {
                                          return where_nonzero(a.out, neg(strong_div(strong_mul(t, a.out), y)));
                                        }));
                   }, true);
}

}  // namespace detail

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
