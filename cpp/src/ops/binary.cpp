// Element-wise ops of two or three inputs, with NumPy broadcasting. The rules give
// cotangents of the broadcast shape; sum_to reduces them to each input's shape.
#include <cmath>

#include "common.h"

namespace eigengrad {

using kernels::Binary;
using detail::constant;
using detail::promote_pair;
using Grads = std::vector<Variable>;

namespace {
Tensor run(Binary op, const Variable& x, const Variable& y, const char* name) {
  return kernels::binary(op, x.data(), y.data(), name);
}
/// A constant mask computed from the inputs' values (not differentiated).
Variable mask(Binary op, const Variable& x, const Variable& y) {
  return constant(kernels::binary(op, x.data(), y.data()));
}
}  // namespace

// add(x, y) = x + y
//   vjp: gx = sum_to(gout), gy = sum_to(gout)
Variable add(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("add", run(Binary::Add, x, y, "add"), {x, y},
                [xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                  return {a.need(0) ? sum_to(a.gout, xs) : Variable(),
                          a.need(1) ? sum_to(a.gout, ys) : Variable()};
                });
}

// sub(x, y) = x - y
//   vjp: gx = sum_to(gout), gy = sum_to(-gout)
Variable sub(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("sub", run(Binary::Sub, x, y, "sub"), {x, y},
                [xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                  return {a.need(0) ? sum_to(a.gout, xs) : Variable(),
                          a.need(1) ? sum_to(neg(a.gout), ys) : Variable()};
                });
}

// mul(x, y) = x * y
//   vjp: gx = sum_to(gout * y), gy = sum_to(gout * x)
Variable mul(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("mul", run(Binary::Mul, x, y, "mul"), {x, y}, [x, y](const BackwardArgs& a) -> Grads {
    return {a.need(0) ? sum_to(a.gout * y, x.shape()) : Variable(),
            a.need(1) ? sum_to(a.gout * x, y.shape()) : Variable()};
  });
}

// div(x, y) = x / y
//   vjp: gx = sum_to(gout / y), gy = sum_to(-gout * out / y)
Variable div(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("div", run(Binary::Div, x, y, "div"), {x, y},
                [xs = x.shape(), y](const BackwardArgs& a) -> Grads {
                  return {a.need(0) ? sum_to(a.gout / y, xs) : Variable(),
                          a.need(1) ? sum_to(neg(a.gout * a.out / y), y.shape()) : Variable()};
                }, true);
}

// pow(x, y) = x ** y
//   vjp: gx = sum_to(gout * (y == 0 ? 0 : y * x ** (y - 1)))
//        gy = sum_to(gout * (x == 0 ? 0 : out * log(x)))
//   Why the guards: they give d/dx x**0 = 0 at x = 0 and d/dy x**y = 0 at x = 0,
//   where the plain formulas evaluate 0 * inf.
Variable pow(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("pow", run(Binary::Pow, x, y, "pow"), {x, y}, [x, y](const BackwardArgs& a) -> Grads {
    Variable zero = scalar_like(0.0, x);
    Grads g(2);
    if (a.need(0)) {
      Variable dx = y * pow(x, y - 1.0);
      g[0] = sum_to(a.gout * where(mask(Binary::NonZeroMask, y, y).data(), dx, zero), x.shape());
    }
    if (a.need(1)) {
      Variable dy = a.out * log(x);
      g[1] = sum_to(a.gout * where(mask(Binary::NonZeroMask, x, x).data(), dy, zero), y.shape());
    }
    return g;
  }, true);
}

// maximum(x, y), NaN propagating
//   vjp: gx = sum_to(gout * w(x, y)), gy = sum_to(gout * w(y, x)),
//        w(a, b) = 1 if a > b or a is NaN, 1/2 on a tie, 0 otherwise
Variable maximum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("maximum", run(Binary::Maximum, x, y, "maximum"), {x, y},
                [x, y](const BackwardArgs& a) -> Grads {
                  return {a.need(0) ? sum_to(a.gout * mask(Binary::MaxWeight, x, y), x.shape()) : Variable(),
                          a.need(1) ? sum_to(a.gout * mask(Binary::MaxWeight, y, x), y.shape()) : Variable()};
                });
}

// minimum(x, y), NaN propagating
//   vjp: as maximum, with the weights of the smaller value
Variable minimum(const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  return record("minimum", run(Binary::Minimum, x, y, "minimum"), {x, y},
                [x, y](const BackwardArgs& a) -> Grads {
                  return {a.need(0) ? sum_to(a.gout * mask(Binary::MinWeight, x, y), x.shape()) : Variable(),
                          a.need(1) ? sum_to(a.gout * mask(Binary::MinWeight, y, x), y.shape()) : Variable()};
                });
}

// where(c, x, y) = c ? x : y
//   vjp: gx = sum_to(where(c, gout, 0)), gy = sum_to(where(c, 0, gout))
Variable where(const Tensor& condition, const Variable& x0, const Variable& y0) {
  auto [x, y] = promote_pair(x0, y0);
  Shape xy = kernels::broadcast_shapes("where", x.shape(), y.shape());
  kernels::broadcast_shapes("where", condition.shape(), xy);
  return record("where", kernels::where(condition, x.data(), y.data()), {x, y},
                [condition, xs = x.shape(), ys = y.shape()](const BackwardArgs& a) -> Grads {
                  Variable zero = scalar_like(0.0, a.gout);
                  return {a.need(0) ? sum_to(where(condition, a.gout, zero), xs) : Variable(),
                          a.need(1) ? sum_to(where(condition, zero, a.gout), ys) : Variable()};
                });
}

// clip(x, lo, hi) = minimum(maximum(x, lo), hi)
//   vjp: gx = gout * [lo <= x <= hi or x is NaN]
Variable clip(const Variable& x, std::optional<double> lo, std::optional<double> hi) {
  const double l = lo.value_or(-INFINITY), h = hi.value_or(INFINITY);
  if (std::isnan(l) || std::isnan(h))
    throw std::invalid_argument("clip: the bounds must not be NaN");
  return record("clip", kernels::clip(x.data(), l, h), {x}, [x, l, h](const BackwardArgs& a) -> Grads {
    return {a.gout * constant(kernels::clip_mask(x.data(), l, h))};
  });
}

// astype(x, dtype): the values in another float dtype
//   vjp: gx = astype(gout, x.dtype)
Variable astype(const Variable& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return record("astype", x.data().to(dtype), {x}, [from = x.dtype()](const BackwardArgs& a) -> Grads {
    return {astype(a.gout, from)};
  });
}

}  // namespace eigengrad
