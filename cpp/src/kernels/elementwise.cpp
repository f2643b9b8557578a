// Element-wise kernels: one small functor per op, SIMD through Eigen arrays where
// Eigen has a vectorised version, plain loops the compiler vectorises otherwise.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "../dispatch.h"
#include "eigen.h"
#include "kernels.h"
#include "parallel.h"
#include "strided.h"

namespace eigengrad::kernels {

namespace {

// Eigen 3.4's AVX-512 float exp overflows to inf for x in about [88.38, 88.72],
// where e^x is still finite; those few elements are redone with the scalar
// function. The check runs block by block right after the block is computed,
// while it is still in cache (a separate pass over the output cost 1.45x).
template <class T, class Vectorised, class Scalar>
void exp_like(const T* px, T* po, std::int64_t n, Vectorised vectorised, Scalar scalar) {
  constexpr std::int64_t kBlock = 4096;
  for (std::int64_t b = 0; b < n; b += kBlock) {
    const std::int64_t len = std::min(kBlock, n - b);
    ArrayMap<T> o(po + b, len);
    o = vectorised(ConstArrayMap<T>(px + b, len));
    if constexpr (std::is_same_v<T, float>) {
      if (o.template maxCoeff<Eigen::PropagateNumbers>() != T(INFINITY)) continue;  // NaN ignored
      for (std::int64_t i = b; i < b + len; ++i)
        if (po[i] == INFINITY && px[i] < 89.0f) po[i] = scalar(px[i]);
    }
  }
}

template <class T>
void unary_typed(Unary op, const T* px, T* po, std::int64_t n) {
  ConstArrayMap<T> x(px, n);
  ArrayMap<T> o(po, n);
  switch (op) {
    case Unary::Neg: o = -x; break;
    case Unary::Exp:
      exp_like(px, po, n, [](const auto& a) { return a.exp(); }, [](T v) { return std::exp(v); });
      break;
    case Unary::Log: o = x.log(); break;
    case Unary::Sqrt:
      // Not Eigen's float sqrt: with EIGEN_FAST_MATH (which the vectorised tanh,
      // sin and cos need) it is a reciprocal-sqrt approximation, off by an ulp or
      // two. This loop vectorises (-fno-math-errno) to the exact, correctly rounded
      // instruction.
      for (std::int64_t i = 0; i < n; ++i) po[i] = std::sqrt(px[i]);
      break;
    case Unary::Abs: o = x.abs(); break;
    case Unary::Tanh: o = x.tanh(); break;
    case Unary::Sigmoid: o = x.logistic(); break;
    case Unary::Relu: o = x.max(T(0)); break;
    case Unary::Sin: o = x.sin(); break;
    case Unary::Cos: o = x.cos(); break;
    case Unary::Log1p: o = x.log1p(); break;
    case Unary::Expm1:
      exp_like(px, po, n, [](const auto& a) { return a.expm1(); }, [](T v) { return std::expm1(v); });
      break;
    case Unary::Square: o = x.square(); break;
    case Unary::Sign:
      for (std::int64_t i = 0; i < n; ++i)
        po[i] = px[i] > 0 ? T(1) : px[i] < 0 ? T(-1) : px[i] == 0 ? T(0) : px[i];
      break;
    case Unary::Step:
      for (std::int64_t i = 0; i < n; ++i) po[i] = px[i] > 0 ? T(1) : T(0);
      break;
    case Unary::IsNegInf:
      for (std::int64_t i = 0; i < n; ++i) po[i] = px[i] == -INFINITY ? T(1) : T(0);
      break;
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
    }
    return a;
  }
};

// The inner row of a broadcast binary op, specialised on the common stride
// patterns so that the compiler sees unit strides.
template <class T, class F>
void binary_row(F f, const T* a, const T* b, T* o, std::int64_t n, std::int64_t sa, std::int64_t sb) {
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
  std::array<std::vector<std::int64_t>, 3> strides{contiguous_strides(out.shape()),
                                                   broadcast_strides(x.shape(), out.shape()),
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

Tensor unary_grad(UnaryGrad op, const Tensor& gout, const Tensor& out) {
  Tensor gx(out.shape(), out.dtype());
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = gout.data_as<T>();
    const T* po = out.data_as<T>();
    T* px = gx.data_as<T>();
    parallel_for(out.numel(), [&](std::int64_t b, std::int64_t e) {
      ConstArrayMap<T> g(pg + b, e - b), o(po + b, e - b);
      ArrayMap<T> r(px + b, e - b);
      switch (op) {
        case UnaryGrad::Tanh: r = g * (T(1) - o.square()); break;
        case UnaryGrad::Sigmoid: r = g * o * (T(1) - o); break;
        case UnaryGrad::Relu: r = (o > T(0)).select(g, T(0)); break;
        case UnaryGrad::Exp: r = g * o; break;
      }
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
    std::array<std::vector<std::int64_t>, 4> strides{
        contiguous_strides(shape), broadcast_strides(c.shape(), shape),
        broadcast_strides(x.shape(), shape), broadcast_strides(y.shape(), shape)};
    for_each_row<4>(shape, strides, [&](const auto& off, std::int64_t n, const auto& s) {
      for (std::int64_t i = 0; i < n; ++i)
        po[off[0] + i] = pc[off[1] + i * s[1]] != 0 ? px[off[2] + i * s[2]] : py[off[3] + i * s[3]];
    });
  });
  return out;
}

Tensor clip(const Tensor& x, double lo, double hi) {
  Tensor out(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    T* po = out.data_as<T>();
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      // minimum(maximum(x, lo), hi) as NumPy: NaN fails both tests and passes through.
      T v = px[i] < l ? l : px[i];
      po[i] = v > h ? h : v;
    }
  });
  return out;
}

Tensor clip_mask(const Tensor& x, double lo, double hi) {
  Tensor out(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    T* po = out.data_as<T>();
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    for (std::int64_t i = 0; i < x.numel(); ++i) po[i] = (px[i] < l || px[i] > h) ? T(0) : T(1);
  });
  return out;
}

}  // namespace eigengrad::kernels
