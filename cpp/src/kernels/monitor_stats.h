// Statistics of a contiguous run of values, for eg.grad_monitor
// (cpp/src/monitor.cpp): a gradient's sum of squares and largest |value|, whether
// any value is not finite, and how many activations are dead or saturated.
//
// The sum of squares is kernels/sum.h's pairwise sum of the squares (Note [Sum
// order]), accumulated in double (also for float32 input). The other loops
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

/// The largest magnitude's bits (Note [Largest magnitude from the bits]), in 16
/// partial maxima (32 and 64 were no faster).
template <class T>
typename MagnitudeBits<T>::U top_magnitude_bits(const T* x, std::int64_t n) {
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
  return m;
}

/// The sum of squares, in double, in the fixed order of Note [Sum order].
template <class T>
double sum_squares(const T* x, std::int64_t n) {
  return sum_of<double>(x, n, [](T v) {
    const double d = static_cast<double>(v);
    return d * d;
  });
}

/// Sum of squares and largest |value|. A NaN makes both NaN, as NumPy's sum and max
/// say. Two reads: one loop doing both did not vectorise (doubles and 32-bit
/// integers in one loop) and took twice as long.
template <class T>
NormStats norm_stats(const T* x, std::int64_t n) {
  if (n == 0) return {};
  const typename MagnitudeBits<T>::U top = top_magnitude_bits(x, n);
  if (top > MagnitudeBits<T>::kInf) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  T max_abs;
  std::memcpy(&max_abs, &top, sizeof max_abs);
  return {sum_squares(x, n), static_cast<double>(max_abs)};
}

/// True when some value is inf or NaN: the largest magnitude's bits reach inf's.
/// On a few thousand values this takes about half the time of the other branch-free
/// test, summing x - x (NaN exactly for inf and NaN) in 32 partial sums.
template <class T>
bool any_nonfinite(const T* x, std::int64_t n) {
  return n > 0 && top_magnitude_bits(x, n) >= MagnitudeBits<T>::kInf;
}

/// How many values are exactly zero (a relu's dead units). Counted in 32-bit blocks:
/// a 64-bit count per element vectorises at half the width (twice the time).
template <class T>
std::int64_t count_zero(const T* x, std::int64_t n) {
  constexpr std::int64_t kBlock = std::int64_t(1) << 30;
  std::int64_t count = 0;
  for (std::int64_t start = 0; start < n; start += kBlock) {
    const std::int64_t end = n - start < kBlock ? n : start + kBlock;
    std::int32_t block = 0;
    for (std::int64_t i = start; i < end; ++i) block += x[i] == T(0);
    count += block;
  }
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
