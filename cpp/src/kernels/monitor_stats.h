// One-read statistics of a contiguous run of values, for eg.grad_monitor
// (cpp/src/monitor.cpp): a gradient's sum of squares and largest |value|, whether
// any value is not finite, and how many activations are dead or saturated.
//
// The sum of squares is kernels/sum.h's pairwise sum of the squares, accumulated in
// double (also for float32 input). The other loops keep kLanes interleaved partial
// results in the same way, so that the compiler vectorises them at any width.
#pragma once

#include <cmath>
#include <cstdint>

#include "eigen.h"
#include "sum.h"

namespace eigengrad::kernels {

struct NormStats {
  double sumsq = 0, max_abs = 0;
};

/// The sum of squares, in double, in the fixed order of Note [Sum order] (sum.h).
template <class T>
double sum_squares(const T* x, std::int64_t n) {
  return sum_of<double>(x, n, [](T v) {
    const double d = static_cast<double>(v);
    return d * d;
  });
}

/// Sum of squares and largest |value| (Eigen's vectorised max: exact in any order).
/// A NaN, which a SIMD max may skip, makes the sum of squares NaN; the largest
/// |value| is then NaN too, as NumPy's max says.
template <class T>
NormStats norm_stats(const T* x, std::int64_t n) {
  if (n == 0) return {};
  const double sumsq = sum_squares(x, n);
  if (std::isnan(sumsq)) return {sumsq, sumsq};
  return {sumsq, static_cast<double>(ConstArrayMap<T>(x, n).abs().maxCoeff())};
}

/// True when some value is inf or NaN (x - x is NaN exactly for those). 32 partial
/// results: enough independent additions in flight to hide their latency (with 16,
/// the scan of every op's output was a tenth of a monitored small network's step).
template <class T>
bool any_nonfinite(const T* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 32;
  T acc[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += x[i + j] - x[i + j];
  for (std::int64_t j = 0; i + j < n; ++j) acc[j] += x[i + j] - x[i + j];
  for (std::int64_t j = 0; j < kLanes; ++j)
    if (acc[j] != acc[j]) return true;
  return false;
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
