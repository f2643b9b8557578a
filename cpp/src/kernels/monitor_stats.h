// One-read statistics of a contiguous run of values, for eg.grad_monitor
// (cpp/src/monitor.cpp): a gradient's sum of squares and largest |value|, whether
// any value is not finite, and how many activations are dead or saturated.
//
// The sum of squares is a pairwise sum of the squares in the order of Note [Sum
// order] (sum.h), accumulated in double (also for float32 input). The other loops
// keep interleaved partial results in the same way, so that the compiler vectorises
// them at any width.
//
// Note [Largest magnitude from the bits]
// The bits of |x| (the sign bit cleared), read as an unsigned integer, are ordered as
// the magnitudes are: 0 < subnormals < normals < inf, and every NaN lies above inf.
// So one integer max over the masked bits gives the largest |value| and, compared
// with inf's bits, whether some value is inf or NaN. Integer max has a latency of one
// cycle (a floating-point add or compare chain has four), and it has no NaN cases.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "sum.h"

namespace eigengrad::kernels {

/// The unsigned integer as wide as T, the mask of its magnitude bits, and the bits
/// of +inf (Note [Largest magnitude from the bits]).
template <class T>
struct MagnitudeBits;
template <>
struct MagnitudeBits<float> {
  using U = std::uint32_t;
  static constexpr U kMask = 0x7fffffffu, kInf = 0x7f800000u;
};
template <>
struct MagnitudeBits<double> {
  using U = std::uint64_t;
  static constexpr U kMask = 0x7fffffffffffffffull, kInf = 0x7ff0000000000000ull;
};

template <class T>
typename MagnitudeBits<T>::U magnitude_bits(T v) {
  typename MagnitudeBits<T>::U b;
  std::memcpy(&b, &v, sizeof b);
  return b & MagnitudeBits<T>::kMask;
}

struct NormStats {
  double sumsq = 0, max_abs = 0;
};

namespace detail {
template <class T>
struct SquaresAndTop {
  double sumsq;
  typename MagnitudeBits<T>::U top;  // the largest magnitude's bits
};

/// sum_of's recursion (sum.h) with the largest magnitude taken in the same read.
template <class T>
SquaresAndTop<T> squares_and_top(const T* x, std::int64_t n) {
  using U = typename MagnitudeBits<T>::U;
  if (n > kSumLeaf) {
    const std::int64_t half = sum_split(n);
    const SquaresAndTop<T> a = squares_and_top(x, half), b = squares_and_top(x + half, n - half);
    return {a.sumsq + b.sumsq, a.top > b.top ? a.top : b.top};
  }
  double acc[kSumLanes] = {};
  U top[kSumLanes] = {};
  std::int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (std::int64_t j = 0; j < kSumLanes; ++j) {
      const double d = static_cast<double>(x[i + j]);
      acc[j] += d * d;
      const U b = magnitude_bits(x[i + j]);
      top[j] = top[j] > b ? top[j] : b;
    }
  for (std::int64_t j = 0; i + j < n; ++j) {
    const double d = static_cast<double>(x[i + j]);
    acc[j] += d * d;
    const U b = magnitude_bits(x[i + j]);
    top[j] = top[j] > b ? top[j] : b;
  }
  for (std::int64_t width = kSumLanes / 2; width > 0; width /= 2)
    for (std::int64_t j = 0; j < width; ++j) {
      acc[j] += acc[j + width];
      top[j] = top[j] > top[j + width] ? top[j] : top[j + width];
    }
  return {acc[0], top[0]};
}
}  // namespace detail

/// Sum of squares (in double, bitwise sum_of<double> of the squares) and largest
/// |value|, in one read. A NaN makes both NaN, as NumPy's sum and max say.
template <class T>
NormStats norm_stats(const T* x, std::int64_t n) {
  if (n == 0) return {};
  const detail::SquaresAndTop<T> s = detail::squares_and_top(x, n);
  if (s.top > MagnitudeBits<T>::kInf) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  T top;
  std::memcpy(&top, &s.top, sizeof top);
  return {s.sumsq, static_cast<double>(top)};
}

/// True when some value is inf or NaN: the largest magnitude's bits reach inf's
/// (Note [Largest magnitude from the bits]). 16 partial maxima (32 and 64 were no
/// faster); on a few thousand values this takes about half the time of summing
/// x - x, which is NaN exactly for inf and NaN, in 32 partial sums.
template <class T>
bool any_nonfinite(const T* x, std::int64_t n) {
  using U = typename MagnitudeBits<T>::U;
  constexpr std::int64_t kLanes = 16;
  U top[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) {
      const U b = magnitude_bits(x[i + j]);
      top[j] = top[j] > b ? top[j] : b;
    }
  for (std::int64_t j = 0; i + j < n; ++j) {
    const U b = magnitude_bits(x[i + j]);
    top[j] = top[j] > b ? top[j] : b;
  }
  U m = 0;
  for (std::int64_t j = 0; j < kLanes; ++j) m = m > top[j] ? m : top[j];
  return m >= MagnitudeBits<T>::kInf;
}

/// How many values are exactly zero (a relu's dead units).
template <class T>
std::int64_t count_zero(const T* x, std::int64_t n) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < n; ++i) count += x[i] == T(0);
  return count;
}

/// How many outputs have a local derivative below `threshold`: sigmoid's
/// out (1 - out) when `is_tanh` is false, tanh's 1 - out^2 otherwise (in double).
template <class T>
std::int64_t count_saturated(const T* out, std::int64_t n, bool is_tanh, double threshold) {
  std::int64_t count = 0;
  if (is_tanh)
    for (std::int64_t i = 0; i < n; ++i) {
      const double y = out[i];
      count += 1.0 - y * y < threshold;
    }
  else
    for (std::int64_t i = 0; i < n; ++i) {
      const double y = out[i];
      count += y * (1.0 - y) < threshold;
    }
  return count;
}

}  // namespace eigengrad::kernels
