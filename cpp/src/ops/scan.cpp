// Scans and the reductions built on them or on mean: cumsum, cumprod, prod, var,
// std. Scans run in order along their axis (Note [Scan order] in kernels/scan.cpp).
// Rules address the axis from the right, so batch dimensions in front pass through.
#include <algorithm>
#include <cmath>

#include "../kernels/scan.h"
#include "along_axis.h"

namespace eigengrad {

using kernels::Scan;
using detail::constant;
using detail::count_over;
using detail::normalize_axes;
using detail::normalize_axis;
using detail::record_op;
using detail::shift_one;
using detail::strong_mul;
using Grads = std::vector<Variable>;

namespace detail {

Variable narrow(const Variable& v, std::int64_t axis, std::int64_t start, std::int64_t stop) {
  const std::int64_t ax = normalize_axis("narrow", axis, v.ndim());
  Dims starts(v.shape().size(), 0), stops(v.shape()), steps(v.shape().size(), 1);
  starts[ax] = start;
  stops[ax] = stop;
  return slice(v, starts, stops, steps);
}

Variable shift_one(const Variable& v, std::int64_t axis, bool toward_end, double fill) {
  const std::int64_t ax = normalize_axis("shift_one", axis, v.ndim()), n = v.shape()[ax];
  if (n == 0) return v;
  Shape edge = v.shape();
  edge[ax] = 1;
  Variable f = constant(Tensor::full(edge, fill, v.dtype()));
  if (toward_end) return concatenate({f, narrow(v, ax, 0, n - 1)}, ax);
  return concatenate({narrow(v, ax, 1, n), f}, ax);
}

double count_over(const Shape& shape, const Dims& axes) {
  double n = 1;
  for (std::int64_t a : axes) n *= static_cast<double>(shape[a]);
  return n;
}

}  // namespace detail

namespace {

// cumsum(x) along axis: out[i] = x[0] + ... + x[i]; reversed: x[i] + ... + x[n-1]
//   vjp: gx = cumsum(gout), reversed the other way
//   jvp: tout = cumsum(tx), the same way
Variable cumsum_along(const Variable& x, std::int64_t right, bool reverse) {
  return record_op("cumsum", kernels::scan(Scan::Sum, x.data(), x.ndim() + right, reverse), {x},
                   [right, reverse](const BackwardArgs& a) -> Grads { return {cumsum_along(a.gout, right, !reverse)}; },
                   [right, reverse](const JvpArgs& a) { return cumsum_along(a.t(0), right, reverse); });
}

// linrec(g, a) along axis: h[i] = g[i] + a[i] h[i-1] (reversed: a[i] h[i+1]), h
// before the start 0; g and a of one shape (cumprod's rules, below)
//   h is linear in g; its adjoint runs the other way with the coefficients moved
//   one place: v[j] = u[j] + a[j+1] v[j+1] (reversed: a[j-1] v[j-1])
//   vjp: gg = v,  ga = v * h_prev   (h_prev[i] = h[i-1], reversed h[i+1]; 0 at the edge)
//   jvp: tout = linrec(tg + ta * h_prev, a)
//   The recurrence's products are strong (a[i] * 0 = 0 even for an infinite a[i]):
//   g is always a cotangent or tangent.
Variable linrec(const Variable& g0, const Variable& a0, std::int64_t right, bool reverse) {
  const Variable g = g0, a = a0.dtype() == g0.dtype() ? a0 : astype(a0, g0.dtype());
  Tensor out = kernels::linrec(g.data(), a.data(), g.ndim() + right, reverse, strong_zero_enabled());
  return record_op("linrec", out, {g, a},
                   [a, right, reverse](const BackwardArgs& b) -> Grads {
                     Variable coef = broadcast_to(shift_one(a, right, reverse, 0.0), b.gout.shape());
                     Variable v = linrec(b.gout, coef, right, !reverse);
                     Variable ga;
                     if (b.need(1))
                       ga = detail::unbroadcast(strong_mul(v, shift_one(b.out, right, !reverse, 0.0)), a.shape(), b.lead);
                     return {v, ga};
                   },
                   [a, right, reverse](const JvpArgs& b) {
                     Variable t = b.has(0) ? b.t(0) : Variable();
                     if (b.has(1)) {
                       Variable term = strong_mul(b.t(1), shift_one(b.out, right, !reverse, 0.0));
                       t = t.defined() ? add(t, term) : term;
                     }
                     if (!t.defined()) return Variable();
                     return linrec(t, broadcast_to(a, t.shape()), right, reverse);
                   }, true);
}

}  // namespace

Variable cumsum(const Variable& x, std::int64_t axis) {
  return cumsum_along(x, normalize_axis("cumsum", axis, x.ndim()) - x.ndim(), false);
}

// cumprod(x) along axis: out[i] = x[0] * ... * x[i]
//   e[i] = out[i-1] (1 at i = 0): the product of the elements before i
//   vjp: gx = e * linrec(gout, x moved one toward the start, 0 entering, reversed),
//        that is gx[i] = e[i] * sum_{j>=i} gout[j] x[i+1] ... x[j]
//   jvp: tout = linrec(tx * e, x): tout[i] = tx[i] e[i] + x[i] tout[i-1]
//   No division by x: exact where x holds zeros (one or several).
Variable cumprod(const Variable& x, std::int64_t axis) {
  const std::int64_t right = normalize_axis("cumprod", axis, x.ndim()) - x.ndim();
  return record_op("cumprod", kernels::scan(Scan::Prod, x.data(), x.ndim() + right, false), {x},
                   [x, right](const BackwardArgs& a) -> Grads {
                     Variable e = shift_one(a.out, right, true, 1.0);
                     Variable next = broadcast_to(shift_one(x, right, false, 0.0), a.gout.shape());
                     return {strong_mul(linrec(a.gout, next, right, true), e)};
                   },
                   [x, right](const JvpArgs& a) {
                     Variable t = strong_mul(a.t(0), shift_one(a.out, right, true, 1.0));
                     return linrec(t, broadcast_to(x, t.shape()), right, false);
                   }, true);
}

// prod(x, axes) = the last element of cumprod over the reduced axes (moved to the
// end and flattened into one); 1 over an empty slice. Its gradient is cumprod's:
// exact at zeros.
Variable prod(const Variable& x, const Axes& axes, bool keepdims) {
  const Dims ax = normalize_axes("prod", axes, x.ndim());
  if (ax.empty()) return x;
  Dims perm;
  Shape kept, out_shape;
  for (std::int64_t d = 0; d < x.ndim(); ++d) {
    const bool reduced = std::binary_search(ax.begin(), ax.end(), d);
    if (!reduced) {
      perm.push_back(d);
      kept.push_back(x.shape()[d]);
    }
    if (!reduced || keepdims) out_shape.push_back(reduced ? 1 : x.shape()[d]);
  }
  perm.insert(perm.end(), ax.begin(), ax.end());
  const auto m = static_cast<std::int64_t>(count_over(x.shape(), ax));
  Shape flat = kept;
  flat.push_back(m);
  Variable rows = reshape(transpose(x, perm), flat);
  if (m == 0) return reshape(sum(rows, Dims{-1}) + 1.0, out_shape);
  return reshape(detail::narrow(cumprod(rows, -1), -1, m - 1, m), out_shape);
}

// var(x, axes) = sum((x - mean(x))^2, axes) / (n - ddof), NumPy's two-pass formula
Variable var(const Variable& x, const Axes& axes, double ddof, bool keepdims) {
  const Dims ax = normalize_axes("var", axes, x.ndim());
  const double divisor = std::max(count_over(x.shape(), ax) - ddof, 0.0);
  Variable d = x - mean(x, ax, true);
  return sum(square(d), ax, keepdims) * (1.0 / divisor);
}

// std(x, axes) = norm(x - mean(x), axes) / sqrt(n - ddof): through norm, whose
// gradient at 0 is 0, a constant slice has gradient 0 (sqrt(var) would give NaN)
Variable std(const Variable& x, const Axes& axes, double ddof, bool keepdims) {
  const Dims ax = normalize_axes("std", axes, x.ndim());
  const double divisor = std::max(count_over(x.shape(), ax) - ddof, 0.0);
  return norm(x - mean(x, ax, true), ax, keepdims) * (1.0 / std::sqrt(divisor));
}

}  // namespace eigengrad
