// The float32 versions of math.h's functions (overloads taking and returning float).
//
// Note [float32 functions]
// Each is evaluated in double, from the float argument (exact in double), and its
// double result is rounded to float once. The double evaluation only needs about
// 2^-34 relative accuracy for that rounding to be the correct one in all but rare
// cases (the true value within 2^-34 of a midpoint between two floats), so the
// polynomials are the short ends of math.h's series and no step needs the
// extra-precision tricks of the double versions. float arguments are never
// subnormal in double, and a result that overflows or underflows float does so in
// the final rounding, which handles it as IEEE says (inf, gradual underflow, 0).
// (A double beyond the float range converts to inf: IEEE's rule, which GCC and Clang
// follow on every target here, though ISO C++ leaves it undefined.)
// The same rules as math.h hold (Note [Same result on every CPU]): IEEE operations
// in a fixed order and selects, so every CPU and every position in an array gives
// the same float.
//
// Accuracy, measured against long double references (tests/ops/test_special_values.py):
// every function within 0.51 ulp, that is correctly rounded but in rare cases.
#pragma once

#include "math.h"

namespace eigengrad::kernels::math {

namespace float_eval {

/// e^r - 1 - r for |r| <= ln(2)/2 + a little, to 2^-36 relative: r^2/2! + ... + r^9/9!.
inline double expm1_tail(double r) {
  double p = 1.0 / 362880.0;  // 1/9!
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  return p * (r * r);
}

/// e^x for x in [-200, 200]: 2^k e^r, x = k ln2 + r (|k| <= 289, so 2^k is normal).
inline double exp(double x) {
  const Reduced red = reduce_ln2(x);
  const double r = red.r();
  return (1.0 + (r + expm1_tail(r))) * pow2(red.k);
}

/// e^x - 1 for x in [-30, 100]: r + tail(r) when k = 0 (no cancellation), else
/// 2^k (e^r - 1) + (2^k - 1), whose terms are within a factor 4 of the result.
inline double expm1(double x) {
  const Reduced red = reduce_ln2(x);
  const double r = red.r();
  const double em1 = r + expm1_tail(r);
  const double scale = pow2(red.k);
  return red.k == 0.0 ? em1 : scale * em1 + (scale - 1.0);
}

/// log(x) for a positive, finite, normal double x: e ln2 + 2 atanh(s), as in math.h,
/// with the atanh series to s^13 (2^-37 relative).
inline double log(double x) {
  const std::uint64_t u = bits(x);
  const double biased = from_bits(((u >> 52) & 0x7ff) | bits(0x1p52)) - 0x1p52;
  double m = from_bits((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  const bool high = m > kSqrt2;
  m = high ? m * 0.5 : m;
  const double e = biased - (high ? 1022.0 : 1023.0);
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double p = 2.0 / 13.0;
  p = p * z + 2.0 / 11.0;
  p = p * z + 2.0 / 9.0;
  p = p * z + 2.0 / 7.0;
  p = p * z + 2.0 / 5.0;
  p = p * z + 2.0 / 3.0;
  const double log_m = f - s * (f - p * z);
  return e * (kLn2Hi + kLn2Lo) + log_m;
}

}  // namespace float_eval

inline float exp(float x) {
  const double xd = x;
  const double xc = xd < -200.0 ? -200.0 : (xd > 200.0 ? 200.0 : xd);
  const float result = static_cast<float>(float_eval::exp(xc));
  return x != x ? x + x : result;
}

inline float expm1(float x) {
  const double xd = x;
  const double xc = xd < -30.0 ? -30.0 : (xd > 100.0 ? 100.0 : xd);
  const float result = static_cast<float>(float_eval::expm1(xc));
  return x != x ? x + x : (x == 0.0f ? x : result);  // expm1(-0) = -0
}

inline float log(float x) {
  const double xd = x;
  const float result = static_cast<float>(float_eval::log(xd > 0.0 ? xd : 1.0));
  const float special = x == 0.0f ? -HUGE_VALF : (x == HUGE_VALF ? HUGE_VALF : __builtin_nanf(""));
  return (x > 0.0f && x < HUGE_VALF) ? result : (x != x ? x + x : special);
}

// log1p(x) = log(u) + (x - (u - 1)) / u, u = 1 + x rounded to double (exact unless
// |x| < 2^-29, where the correction term keeps the result right).
inline float log1p(float x) {
  const double xd = x;
  const double u = 1.0 + xd;
  const bool finite_positive = u > 0.0 && u < kInf;
  const double value = float_eval::log(finite_positive ? u : 1.0) + (xd - (u - 1.0)) / u;
  const float special = u == 0.0 ? -HUGE_VALF : (x == HUGE_VALF ? HUGE_VALF : __builtin_nanf(""));
  const float result = finite_positive ? static_cast<float>(value) : special;
  return x == 0.0f ? x : (x != x ? x + x : result);  // log1p(-0) = -0
}

// tanh(x) = sign(x) e / (e + 2), e = expm1(2|x|); for |x| > 10 it rounds to +-1.
inline float tanh(float x) {
  const double a = std::fabs(static_cast<double>(x));
  const double e = float_eval::expm1(a > 10.0 ? 20.0 : a + a);
  const float t = a > 10.0 ? 1.0f : static_cast<float>(e / (e + 2.0));
  return x != x ? x + x : std::copysign(t, x);
}

inline float sigmoid(float x) {
  const double xd = x;
  const double a = std::fabs(xd);
  const double e = float_eval::exp(a > 200.0 ? -200.0 : -a);
  const float result = static_cast<float>(xd >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e));
  return x != x ? x + x : result;
}

namespace float_eval {

/// sin(r) for |r| <= pi/4 (+ a little), to r^11/11! (2^-36 relative).
inline double sin_reduced(double r) {
  const double z = r * r;
  double p = -1.0 / 39916800.0;  // -1/11!
  p = p * z + 1.0 / 362880.0;
  p = p * z - 1.0 / 5040.0;
  p = p * z + 1.0 / 120.0;
  p = p * z - 1.0 / 6.0;
  return r + r * (z * p);
}

/// cos(r) for |r| <= pi/4 (+ a little), to r^12/12! (2^-40 relative).
inline double cos_reduced(double r) {
  const double z = r * r;
  double p = 1.0 / 479001600.0;  // 1/12!
  p = p * z - 1.0 / 3628800.0;
  p = p * z + 1.0 / 40320.0;
  p = p * z - 1.0 / 720.0;
  p = p * z + 1.0 / 24.0;
  return (1.0 - 0.5 * z) + z * (z * p);
}

}  // namespace float_eval

// sin and cos reduce by pi/2 as math.h does, and flag the same elements (by value)
// for the libm fallback in the kernel.
inline float sin(float x, bool& ok) {
  const double xd = x;
  std::uint64_t q;
  const double r = reduce_pio2(xd, q);
  ok = fast_sin_cos_ok(xd, r);
  const float result = static_cast<float>(by_quadrant(float_eval::sin_reduced(r), float_eval::cos_reduced(r), q));
  return x == 0.0f ? x : result;  // sin(-0) = -0
}

inline float cos(float x, bool& ok) {
  const double xd = x;
  std::uint64_t q;
  const double r = reduce_pio2(xd, q);
  ok = fast_sin_cos_ok(xd, r);
  return static_cast<float>(by_quadrant(float_eval::sin_reduced(r), float_eval::cos_reduced(r), q + 1));
}

}  // namespace eigengrad::kernels::math
