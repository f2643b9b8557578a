// Element-wise kernels: one small functor per op, in plain loops the compiler
// vectorises.
#include <algorithm>
#include <cmath>

#include "../dispatch.h"
#include "kernels.h"
#include "math.h"
#include "math_float.h"
#include "math_more.h"
#include "parallel.h"
#include "strided.h"
#include "strong_zero.h"

namespace eigengrad::kernels {

namespace {

// The transcendental functions come from math.h and math_float.h, not from Eigen:
// the same result on every instruction set and for every position in the array
// (Note [Same result on every CPU]).
//
// sin and cos: the vectorised loop flags the elements outside its range (huge
// arguments, inf, NaN, near multiples of pi/2); the rare flagged blocks are redone
// with the libm function, element by element, chosen by value alone.
template <class T, class Fast, class Slow>
void map_checked(const T* px, T* po, std::int64_t n, Fast fast, Slow slow) {
  constexpr std::int64_t kBlock = 1024;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t e = std::min(n, b + kBlock);
    int bad = 0;
    for (std::int64_t i = b; i < e; ++i) {
      bool ok;
      po[i] = fast(px[i], ok);
      bad |= !ok;
    }
    if (!bad) continue;
    for (std::int64_t i = b; i < e; ++i) {
      bool ok;
      fast(px[i], ok);
      if (!ok) po[i] = slow(px[i]);
    }
  }
}

// The others: one plain loop per op, vectorised by the compiler; the vector body and
// the scalar tail compute the same IEEE operation (Eigen's vectorised negation was
// 0 - x, which turned -0 into +0 in the body only). A loop vectorises only when the
// whole function is inlined into it; in unary_typed's large switch GCC's inlining
// budget ran out (sinh, softplus and log_sigmoid stayed scalar, 3-7x slower), so
// map inlines everything it calls (flatten; GCC and Clang).
template <class T, class F>
__attribute__((flatten)) void map(const T* px, T* po, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) po[i] = f(px[i]);
}

template <class T>
void unary_typed(Unary op, const T* px, T* po, std::int64_t n) {
  switch (op) {
    case Unary::Neg: map(px, po, n, [](T v) { return -v; }); break;
    case Unary::Exp: map(px, po, n, [](T v) { return math::exp(v); }); break;
    case Unary::Log: map(px, po, n, [](T v) { return math::log(v); }); break;
    // Correctly rounded by the instruction; vectorised thanks to -fno-math-errno.
    case Unary::Sqrt: map(px, po, n, [](T v) { return std::sqrt(v); }); break;
    case Unary::Abs: map(px, po, n, [](T v) { return std::fabs(v); }); break;
    case Unary::Tanh: map(px, po, n, [](T v) { return math::tanh(v); }); break;
    case Unary::Sigmoid: map(px, po, n, [](T v) { return math::sigmoid(v); }); break;
    // NumPy's maximum(x, 0): NaN propagates, relu(-0) = +0.
    case Unary::Relu: map(px, po, n, [](T v) { return (v > T(0) || v != v) ? v : T(0); }); break;
    case Unary::Sin:
      map_checked(px, po, n, [](T v, bool& ok) { return math::sin(v, ok); }, [](T v) { return std::sin(v); });
      break;
    case Unary::Cos:
      map_checked(px, po, n, [](T v, bool& ok) { return math::cos(v, ok); }, [](T v) { return std::cos(v); });
      break;
    case Unary::Log1p: map(px, po, n, [](T v) { return math::log1p(v); }); break;
    case Unary::Expm1: map(px, po, n, [](T v) { return math::expm1(v); }); break;
    case Unary::Square: map(px, po, n, [](T v) { return v * v; }); break;
    case Unary::Arctan: map(px, po, n, [](T v) { return math::atan(v); }); break;
    case Unary::Arcsin: map(px, po, n, [](T v) { return math::asin(v); }); break;
    case Unary::Arccos: map(px, po, n, [](T v) { return math::acos(v); }); break;
    case Unary::Sinh: map(px, po, n, [](T v) { return math::sinh(v); }); break;
    case Unary::Cosh: map(px, po, n, [](T v) { return math::cosh(v); }); break;
    case Unary::Arctanh: map(px, po, n, [](T v) { return math::atanh(v); }); break;
    case Unary::Softplus: map(px, po, n, [](T v) { return math::softplus(v); }); break;
    case Unary::LogSigmoid: map(px, po, n, [](T v) { return math::log_sigmoid(v); }); break;
    case Unary::Erf: map(px, po, n, [](T v) { return math::erf(v); }); break;
    case Unary::Erfc: map(px, po, n, [](T v) { return math::erfc(v); }); break;
    case Unary::Sign:  // NumPy's: -1, +0 (for both zeros) or 1; NaN stays NaN
      map(px, po, n, [](T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : v == 0 ? T(0) : v; });
      break;
    case Unary::Step: map(px, po, n, [](T v) { return v > 0 ? T(1) : T(0); }); break;
    case Unary::IsNegInf: map(px, po, n, [](T v) { return v == -INFINITY ? T(1) : T(0); }); break;
  }
}

// Scalar functors for the binary ops. NaN handling follows NumPy: maximum and
// minimum propagate NaN from either side.
template <class T>
struct BinaryFn {
  Binary op;
  T operator()(T a, T b) const {
    switch (op) {
      case Binary::Add: return a + b;
      case Binary::Sub: return a - b;
      case Binary::Mul: return a * b;
      case Binary::Div: return a / b;
      case Binary::Pow: return std::pow(a, b);
      case Binary::Maximum: return (a > b || std::isnan(a)) ? a : b;
      case Binary::Minimum: return (a < b || std::isnan(a)) ? a : b;
      case Binary::MaxWeight: return (a > b || std::isnan(a)) ? T(1) : a == b ? T(0.5) : T(0);
      case Binary::MinWeight: return (a < b || std::isnan(a)) ? T(1) : a == b ? T(0.5) : T(0);
      case Binary::Equal: return (a == b || (std::isnan(a) && std::isnan(b))) ? T(1) : T(0);
      case Binary::NonZeroMask: return a != 0 ? T(1) : T(0);
      case Binary::StrongMul: return strong_mul(a, b);
      case Binary::StrongDiv: return strong_div(a, b);
      case Binary::Logaddexp: return math::logaddexp(a, b);
      case Binary::Arctan2: return math::atan2(a, b);
      case Binary::SameInfinity: return (a == b && std::isinf(a)) ? T(1) : T(0);
    }
    return a;
  }
};

// The inner row of a broadcast binary op, specialised on the common stride
// patterns so that the compiler sees unit strides; flattened as map is (logaddexp
// and arctan2 stayed scalar otherwise).
template <class T, class F>
__attribute__((flatten)) void binary_row(F f, const T* a, const T* b, T* o, std::int64_t n, std::int64_t sa, std::int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = *b;
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = *a;
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

template <class T, class F>
void binary_broadcast(F f, const Tensor& x, const Tensor& y, Tensor& out) {
  const T* px = x.data_as<T>();
  const T* py = y.data_as<T>();
  T* po = out.data_as<T>();
  const std::int64_t n = out.numel();
  // Fast paths without stride bookkeeping (and split over threads when large):
  // equal shapes, or one side a single value.
  const std::int64_t sx = x.numel() == n ? 1 : 0, sy = y.numel() == n ? 1 : 0;
  if ((sx || x.numel() == 1) && (sy || y.numel() == 1)) {
    parallel_for(n, [&](std::int64_t b, std::int64_t e) {
      binary_row<T>(f, px + b * sx, py + b * sy, po + b, e - b, sx, sy);
    });
    return;
  }
  std::array<Dims, 3> strides{contiguous_strides(out.shape()), broadcast_strides(x.shape(), out.shape()),
                              broadcast_strides(y.shape(), out.shape())};
  for_each_row<3>(out.shape(), strides, [&](const auto& off, std::int64_t n, const auto& inner) {
    binary_row<T>(f, px + off[1], py + off[2], po + off[0], n, inner[1], inner[2]);
  });
}

// Lambdas with the op fixed at compile time for the hot arithmetic ops, so their
// loops vectorise; the rest go through the switch in BinaryFn.
template <class T>
void binary_typed(Binary op, const Tensor& x, const Tensor& y, Tensor& out) {
  switch (op) {
    case Binary::Add: return binary_broadcast<T>([](T a, T b) { return a + b; }, x, y, out);
    case Binary::Sub: return binary_broadcast<T>([](T a, T b) { return a - b; }, x, y, out);
    case Binary::Mul: return binary_broadcast<T>([](T a, T b) { return a * b; }, x, y, out);
    case Binary::Div: return binary_broadcast<T>([](T a, T b) { return a / b; }, x, y, out);
    case Binary::StrongMul: return binary_broadcast<T>([](T a, T b) { return strong_mul(a, b); }, x, y, out);
    case Binary::StrongDiv: return binary_broadcast<T>([](T a, T b) { return strong_div(a, b); }, x, y, out);
    case Binary::Logaddexp: return binary_broadcast<T>([](T a, T b) { return math::logaddexp(a, b); }, x, y, out);
    case Binary::Arctan2: return binary_broadcast<T>([](T a, T b) { return math::atan2(a, b); }, x, y, out);
    case Binary::Pow:
      // x ** 2, the common case, as x * x: the same correctly rounded result as
      // std::pow(x, 2), in a vectorised loop instead of a libm call per element.
      if (y.numel() == 1 && *y.data_as<T>() == T(2))
        return binary_broadcast<T>([](T a, T) { return a * a; }, x, y, out);
      // x ** 1 (the derivative of x ** 2 is 2 * x ** 1) is x itself: pow(x, 1) returns
      // x exactly, NaN included.
      if (y.numel() == 1 && *y.data_as<T>() == T(1))
        return binary_broadcast<T>([](T a, T) { return a; }, x, y, out);
      return binary_broadcast<T>(BinaryFn<T>{op}, x, y, out);
    default: return binary_broadcast<T>(BinaryFn<T>{op}, x, y, out);
  }
}

}  // namespace

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": operands could not be broadcast together with shapes " +
                                  shape_str(a) + " " + shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor unary(Unary op, const Tensor& x) {
  Tensor out(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    T* po = out.data_as<T>();
    parallel_for(x.numel(), [&](std::int64_t b, std::int64_t e) { unary_typed<T>(op, px + b, po + b, e - b); });
  });
  return out;
}

namespace {
template <bool Strong, class T>
void unary_grad_typed(UnaryGrad op, const T* pg, const T* po, T* px, std::int64_t n) {
  auto each = [&](auto f) {
    for (std::int64_t i = 0; i < n; ++i) px[i] = f(pg[i], po[i]);
  };
  switch (op) {
    case UnaryGrad::Tanh: each([](T g, T o) { return rule_mul<Strong>(g, T(1) - o * o); }); break;
    case UnaryGrad::Sigmoid: each([](T g, T o) { return rule_mul<Strong>(rule_mul<Strong>(g, o), T(1) - o); }); break;
    // A select already: strong as it is (and a NaN gout stays NaN where out > 0).
    case UnaryGrad::Relu: each([](T g, T o) { return o > T(0) ? g : T(0); }); break;
    case UnaryGrad::Exp: each([](T g, T o) { return rule_mul<Strong>(g, o); }); break;
  }
}
}  // namespace

Tensor unary_grad(UnaryGrad op, const Tensor& gout, const Tensor& out, bool strong) {
  Tensor gx(out.shape(), out.dtype());
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gout.data_as<T>();
    const T* po = out.data_as<T>();
    T* px = gx.data_as<T>();
    parallel_for(out.numel(), [&](std::int64_t b, std::int64_t e) {
      if (strong) unary_grad_typed<true, T>(op, pg + b, po + b, px + b, e - b);
      else unary_grad_typed<false, T>(op, pg + b, po + b, px + b, e - b);
    });
  });
  return gx;
}

Tensor binary(Binary op, const Tensor& x, const Tensor& y, const char* name) {
  Tensor out(broadcast_shapes(name, x.shape(), y.shape()), x.dtype());
  dispatch(x.dtype(), [&](auto tag) { binary_typed<typename decltype(tag)::type>(op, x, y, out); });
  return out;
}

Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y) {
  Shape shape = broadcast_shapes("where", broadcast_shapes("where", condition.shape(), x.shape()), y.shape());
  Tensor c = condition.to(x.dtype());
  Tensor out(shape, x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pc = c.data_as<T>();
    const T* px = x.data_as<T>();
    const T* py = y.data_as<T>();
    T* po = out.data_as<T>();
    std::array<Dims, 4> strides{
        contiguous_strides(shape), broadcast_strides(c.shape(), shape),
        broadcast_strides(x.shape(), shape), broadcast_strides(y.shape(), shape)};
    for_each_row<4>(shape, strides, [&](const auto& off, std::int64_t n, const auto& s) {
      for (std::int64_t i = 0; i < n; ++i)
        po[off[0] + i] = pc[off[1] + i * s[1]] != 0 ? px[off[2] + i * s[2]] : py[off[3] + i * s[3]];
    });
  });
  return out;
}

namespace {
/// out[i] = f(x[i]), with f = make(TypeTag<T>{}) for x's element type T.
template <class Make>
Tensor map_tensor(const Tensor& x, Make make) {
  Tensor out(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map(x.data_as<T>(), out.data_as<T>(), x.numel(), make(tag));
  });
  return out;
}
}  // namespace

Tensor clip(const Tensor& x, double lo, double hi) {
  return map_tensor(x, [lo, hi](auto tag) {
    using T = typename decltype(tag)::type;
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    // minimum(maximum(x, lo), hi) as NumPy: NaN fails both tests and passes through.
    return [l, h](T v) {
      const T m = v < l ? l : v;
      return m > h ? h : m;
    };
  });
}

Tensor clip_mask(const Tensor& x, double lo, double hi) {
  return map_tensor(x, [lo, hi](auto tag) {
    using T = typename decltype(tag)::type;
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    return [l, h](T v) { return (v < l || v > h) ? T(0) : T(1); };
  });
}

}  // namespace eigengrad::kernels
