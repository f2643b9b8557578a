// The element-wise functions added after math.h's first set: arctan (and arcsin,
// arccos, arctan2 through it), sinh, cosh, arctanh, softplus, log_sigmoid and
// logaddexp, for float64 and float32, under the rules of Note [Same result on every
// CPU] in math.h: plain IEEE operations in a fixed order, selects, and the functions
// of math.h. float32 is evaluated with the float64 function and rounded once (Note
// [float32 functions]: the double result is good to about 2^-51, far more than the
// rounding to float needs).
//
// Accuracy, measured against 80-bit long double references over random and
// structured inputs (tests/ops/test_special_values.py checks these bounds; the
// measured maxima in brackets), float64:
//   arctan <= 1.5 ulp (1.10), arcsin, arccos <= 2.5 (2.06, 1.71),
//   sinh, cosh <= 2 (1.56, 1.13), arctanh <= 2 (1.46),
//   softplus, log_sigmoid <= 2 (1.36, 1.36), logaddexp <= 2 (1.40), arctan2 <= 2 (1.34);
// float32: every function within 0.51 ulp (correctly rounded but in rare double
// roundings). At +-0, +-inf, NaN and the edges of the domain, NumPy's exact answers.
#pragma once

#include "math.h"

namespace eigengrad::kernels::math {

/// atan(k/8) and pi/2 - atan(k/8) for k = 0..8, each as hi + lo (lo the rest of the
/// value rounded to double), computed with 200-bit arithmetic.
constexpr double kAtanHi[9] = {0.0, 0x1.fd5ba9aac2f6ep-4, 0x1.f5b75f92c80ddp-3, 0x1.6f61941e4def1p-2,
                               0x1.dac670561bb4fp-2, 0x1.1e00babdefeb4p-1, 0x1.4978fa3269ee1p-1,
                               0x1.700a7c5784634p-1, 0x1.921fb54442d18p-1};
constexpr double kAtanLo[9] = {0.0, -0x1.cd37686760c17p-59, 0x1.8ab6e3cf7afbdp-57, -0x1.c63aae6f6e918p-56,
                               0x1.a2b7f222f65e2p-56, -0x1.928df287a668fp-58, 0x1.2419a87f2a458p-56,
                               -0x1.8c34d25aadef6p-56, 0x1.1a62633145c07p-55};
constexpr double kAcotHi[9] = {0x1.921fb54442d18p+0, 0x1.7249faa996a21p+0, 0x1.5368c951e9cfdp+0,
                               0x1.3647503caf55cp+0, 0x1.1b6e192ebbe44p+0, 0x1.031f57e54adbep+0,
                               0x1.dac670561bb4fp-1, 0x1.b434ee31013fdp-1, 0x1.921fb54442d18p-1};
constexpr double kAcotLo[9] = {0x1.1a62633145c07p-54, 0x1.a8cc1e7480c68p-54, -0x1.96f47948a99f1p-54,
                               0x1.17e21d9a42c9ap-55, 0x1.b1b466a88828ep-54, 0x1.338b4259c0270p-54,
                               0x1.a2b7f222f65e2p-55, -0x1.0520d0701d877p-55, 0x1.1a62633145c07p-55};
constexpr double kPiHi = 0x1.921fb54442d18p+1, kPiLo = 0x1.1a62633145c07p-53;
constexpr double kPio2Hi = 0x1.921fb54442d18p+0, kPio2Lo = 0x1.1a62633145c07p-54;
/// ln 2 rounded, as NumPy adds it in logaddexp(x, x).
constexpr double kLn2 = 0x1.62e42fefa39efp-1;

/// atan(t) - t for |t| <= 0.126: -t^3/3 + t^5/5 - ... - t^23/23 (the next term is
/// below 2^-60 relative).
inline double atan_tail(double t) {
  const double z = t * t;
  double p = -1.0 / 23.0;
  p = p * z + 1.0 / 21.0;
  p = p * z - 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z - 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z - 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z - 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z - 1.0 / 3.0;
  return t * (z * p);
}

/// The table index of a small nonnegative integer-valued double k.
inline std::uint64_t table_index(double k) { return bits(k + kShifter) - bits(kShifter); }

/// offset -+ atan(a) for a >= 0, `negate` choosing the sign, the offset
/// (0, pi/2 or pi, for arctan2) given as offset_hi + offset_lo. For a <= 1, with
/// c = k/8 the nearest eighth to a (k = 0 below 1/8, so that t >= 0 where atan(c)
/// would nearly cancel), atan(a) = atan(c) + atan(t), t = (a - c) / (1 + a c) (a - c
/// exact), |t| <= 1/8; for a > 1, c the same for 1/a and atan(a) = (pi/2 - atan(c)) -
/// atan(t), t = (1 - a c) / (a + c).
inline double atan_nonneg(double a, double offset_hi, double offset_lo, bool negate) {
  const bool big = a > 1.0;
  const double ac = a > 0x1p60 ? 0x1p60 : a;  // beyond 2^60, pi/2 - 1/a rounds to pi/2
  const double v = big ? 8.0 / ac : ac * 8.0;
  // k in 0..8; a NaN (the caller's result is then NaN anyway) reads entry 0.
  const double k = v >= 1.0 && v <= 8.0 ? round_to_int(v) : 0.0;
  const double c = k * 0.125;
  const double t = big ? (1.0 - ac * c) / (ac + c) : (ac - c) / (1.0 + ac * c);
  const std::uint64_t i = table_index(k);
  const double hi = big ? kAcotHi[i] : kAtanHi[i];
  const double lo = big ? kAcotLo[i] : kAtanLo[i];
  const double st = big ? -t : t;  // the sign of atan(t) in the sum
  const double sh = negate ? -hi : hi, sl = negate ? -lo : lo, s = negate ? -st : st;
  const double tail = negate ? -atan_tail(st) : atan_tail(st);
  double err;
  const double big_part = two_sum(offset_hi, sh, err);  // exact: the offset costs no rounding
  return big_part + (s + (((sl + offset_lo) + err) + tail));
}

// arctan(x) = sign(x) atan(|x|).
inline double atan(double x) {
  const double a = std::fabs(x);
  const double result = atan_nonneg(a, 0.0, 0.0, false);
  return x != x ? x + x : std::copysign(result, x);
}

// arcsin(x) = atan(x / sqrt(1 - x^2)), 1 - x^2 as (1 - |x|)(1 + |x|) for |x| >= 1/2
// (1 - |x| exact there). +-1 give +-pi/2 (x / 0 = +-inf); |x| > 1 gives NaN.
inline double asin(double x) {
  const double a = std::fabs(x);
  const double d = a < 0.5 ? 1.0 - a * a : (1.0 - a) * (1.0 + a);
  return atan(x / std::sqrt(d));
}

// arccos(x) = 2 atan(sqrt((1 - x) / (1 + x))): no cancellation near 1, and -1 gives
// 2 atan(inf) = pi. |x| > 1 gives NaN.
inline double acos(double x) { return 2.0 * atan(std::sqrt((1.0 - x) / (1.0 + x))); }

// arctan2(y, x) (NumPy's argument order): the angle of the point (x, y), with
// q = min(|x|, |y|) / max(|x|, |y|) <= 1 and the quadrant and octant as offsets:
// atan(q), pi/2 - atan(q), pi/2 + atan(q) or pi - atan(q), with y's sign. inf/inf
// takes q = 1 (pi/4, 3pi/4); 0/0 takes q = 0 (0 or pi, by the sign bit of x).
inline double atan2(double y, double x) {
  const double ax = std::fabs(x), ay = std::fabs(y);
  const bool swap = ay > ax;
  const double num = swap ? ax : ay, den = swap ? ay : ax;
  const double q = num == den ? (num == 0.0 ? 0.0 : 1.0) : num / den;
  const bool left = std::signbit(x);
  const double off_hi = left ? (swap ? kPio2Hi : kPiHi) : (swap ? kPio2Hi : 0.0);
  const double off_lo = left ? (swap ? kPio2Lo : kPiLo) : (swap ? kPio2Lo : 0.0);
  const bool negate = left != swap;  // pi - atan(q) or pi/2 - atan(q)
  const double result = atan_nonneg(q, off_hi, off_lo, negate);
  return (x != x || y != y) ? x + y : std::copysign(result, y);
}

/// e^a / 2 for a > 22 (where e^-a no longer counts next to it): half of exp(a), or
/// (h / 2) h with h = e^(a/2) where exp(a) overflows but e^a / 2 does not.
inline double half_exp(double a) {
  const double h = exp(a * 0.5);
  return a > 709.0 ? (0.5 * h) * h : 0.5 * exp(a > 709.0 ? 0.0 : a);
}

// sinh(x) = sign(x) (e + e / (e + 1)) / 2, e = expm1(|x|), for |x| < 1 (no
// cancellation); (e - 1/e) / 2, e = e^|x|, up to 22; beyond, e^|x| / 2.
inline double sinh(double x) {
  const double a = std::fabs(x);
  const double em1 = expm1(a < 1.0 ? a : 0.0);
  const double e = exp(a > 22.0 ? 0.0 : a);
  const double mid = a < 1.0 ? 0.5 * (em1 + em1 / (em1 + 1.0)) : 0.5 * (e - 1.0 / e);
  const double result = a > 22.0 ? half_exp(a) : mid;
  return x != x ? x + x : std::copysign(result, x);
}

// cosh(x) = (e + 1/e) / 2, e = e^|x|; beyond 22, e^|x| / 2.
inline double cosh(double x) {
  const double a = std::fabs(x);
  const double e = exp(a > 22.0 ? 0.0 : a);
  const double result = a > 22.0 ? half_exp(a) : 0.5 * (e + 1.0 / e);
  return x != x ? x + x : result;
}

// arctanh(x) = sign(x) log1p(2a / (1 - a)) / 2, a = |x|, the argument written as
// 2a + 2a^2 / (1 - a) for a < 1/2 (no rounding of 1 - a to lose the small terms).
// +-1 give +-inf; |x| > 1 gives NaN.
inline double atanh(double x) {
  const double a = std::fabs(x);
  const double t = a + a;
  const double u = a < 0.5 ? t + t * a / (1.0 - a) : t / (1.0 - a);
  const double result = 0.5 * log1p(u);
  return x != x ? x + x : std::copysign(result, x);
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, and NumPy's
// logaddexp(0, x) at the special points.
inline double softplus(double x) {
  const double l = log1p(exp(-std::fabs(x)));
  const double result = x > 0.0 ? x + l : l;
  return x != x ? x + x : result;
}

// log_sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|).
inline double log_sigmoid(double x) { return -softplus(-x); }

// logaddexp(x, y) = log(e^x + e^y), as NumPy computes it: x + ln 2 where x == y
// (so -inf, -inf gives -inf and inf, inf gives inf), else max + log1p(e^-|x - y|);
// NaN propagates.
inline double logaddexp(double x, double y) {
  const double d = x - y;
  const double result = d > 0.0 ? x + log1p(exp(-d)) : y + log1p(exp(d));
  return x == y ? x + kLn2 : (d != d ? d : result);
}

// float32: the double function, rounded once (see the top of this file).
inline float atan(float x) { return static_cast<float>(atan(static_cast<double>(x))); }
inline float asin(float x) { return static_cast<float>(asin(static_cast<double>(x))); }
inline float acos(float x) { return static_cast<float>(acos(static_cast<double>(x))); }
inline float atan2(float y, float x) {
  return static_cast<float>(atan2(static_cast<double>(y), static_cast<double>(x)));
}
inline float sinh(float x) { return static_cast<float>(sinh(static_cast<double>(x))); }
inline float cosh(float x) { return static_cast<float>(cosh(static_cast<double>(x))); }
inline float atanh(float x) { return static_cast<float>(atanh(static_cast<double>(x))); }
inline float softplus(float x) { return static_cast<float>(softplus(static_cast<double>(x))); }
inline float log_sigmoid(float x) { return static_cast<float>(log_sigmoid(static_cast<double>(x))); }
inline float logaddexp(float x, float y) {
  return static_cast<float>(logaddexp(static_cast<double>(x), static_cast<double>(y)));
}

}  // namespace eigengrad::kernels::math
