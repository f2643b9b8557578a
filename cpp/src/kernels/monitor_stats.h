// One-read statistics of a contiguous run of values, for eg.grad_monitor
// (cpp/src/monitor.cpp): a gradient's sum of squares and largest |value|, whether
// any value is not finite, and how many activations are dead or saturated.
//
// Written like kernels/sum.h: kLanes interleaved partial results, so that the
// compiler vectorises the loop at whatever width the CPU has. The sum of squares
// accumulates in double (also for float32 input) and is combined pairwise by
// halves past kLeaf, so its rounding error grows with log n.
#pragma once

#include <cmath>
#include <cstdint>

namespace eigengrad::kernels {

struct NormStats {
  double sumsq = 0, max_abs = 0;
};

template <class T>
NormStats norm_stats(const T* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 16, kLeaf = 2048;
  if (n > kLeaf) {
    const std::int64_t half = (n / 2 + kLanes - 1) / kLanes * kLanes;
    NormStats a = norm_stats(x, half), b = norm_stats(x + half, n - half);
    // std::fmax drops NaN; a NaN anywhere must show, so compare by hand.
    return {a.sumsq + b.sumsq, (a.max_abs >= b.max_abs || std::isnan(a.max_abs)) ? a.max_abs : b.max_abs};
  }
  double sq[kLanes] = {}, mx[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (std::int64_t j = 0; j < kLanes; ++j) {
      const double v = static_cast<double>(x[i + j]);
      sq[j] += v * v;
      const double a = std::abs(v);
      mx[j] = a > mx[j] || a != a ? a : mx[j];
    }
  for (std::int64_t j = 0; i + j < n; ++j) {
    const double v = static_cast<double>(x[i + j]);
    sq[j] += v * v;
    const double a = std::abs(v);
    mx[j] = a > mx[j] || a != a ? a : mx[j];
  }
  for (std::int64_t width = kLanes / 2; width > 0; width /= 2)
    for (std::int64_t j = 0; j < width; ++j) {
      sq[j] += sq[j + width];
      mx[j] = mx[j + width] > mx[j] || mx[j + width] != mx[j + width] ? mx[j + width] : mx[j];
    }
  return {sq[0], mx[0]};
}

/// True when some value is inf or NaN (x - x is NaN exactly for those).
template <class T>
bool any_nonfinite(const T* x, std::int64_t n) {
  constexpr std::int64_t kLanes = 16;
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
