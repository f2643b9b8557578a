// The element-wise functions added after math.h's first set: arctan (and arcsin,
// arccos, arctan2 through it), sinh, cosh, arctanh, softplus, log_sigmoid, logaddexp,
// erf and erfc, for float64 and float32, under the rules of Note [Same result on
// every CPU] in math.h: plain IEEE operations in a fixed order, selects, table reads
// and the functions of math.h. float32 is evaluated with the float64 function and
// rounded once (Note [float32 functions]: the double result is good to a few 2^-53,
// far more than the rounding to float needs).
//
// Accuracy, measured against 80-bit long double references (mpmath for erf and
// erfc) over random and structured inputs, 10^5 to 3 10^6 points per function
// (tests/ops/test_special_values.py checks the bounds; the measured maxima in
// brackets), float64:
//   arctan <= 1.5 ulp (1.03), arcsin, arccos <= 2.5 (2.01, 1.86), arctan2 <= 2 (1.42),
//   sinh, cosh <= 2 (1.91, 1.91), arctanh <= 2 (1.94), softplus, log_sigmoid <= 2
//   (1.90, 1.93), logaddexp <= 2 ulps of its larger term (1.83; the result itself can
//   cancel, as in NumPy's formula), erf <= 2 (1.85), erfc <= 4 (3.76);
// float32: every function within 0.51 ulp (0.50: correctly rounded but in rare
// double roundings). At +-0, +-inf, NaN and the edges of the domains, NumPy's exact
// answers (the C library's for erf and erfc).
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

// ---- erf, erfc -------------------------------------------------------------------

/// 2/sqrt(pi) = kTwoOverSqrtPiHi + kTwoOverSqrtPiLo.
constexpr double kTwoOverSqrtPiHi = 0x1.20dd750429b6dp+0, kTwoOverSqrtPiLo = 0x1.1ae3a914fed80p-56;

/// (erf(x) - x 2/sqrt(pi)) / x for |x| <= 1/2: the Taylor series 2/sqrt(pi) sum
/// (-1)^n x^2n / (n! (2n + 1)), n = 1..13 (the next term is below 2^-64 relative).
inline double erf_tail_over_x(double x) {
  const double z = x * x;
  double p = -0x1.d8453cb0c46eap-38;  // n = 13
  p = p * z + 0x1.9e6ad5e55a730p-34;
  p = p * z - 0x1.51d7181c5d36dp-30;
  p = p * z + 0x1.fcc5720624c1cp-27;
  p = p * z - 0x1.5f742ec43e71ap-23;
  p = p * z + 0x1.b9e6c9dc651a3p-20;
  p = p * z - 0x1.f4d25c3e0c2ebp-17;
  p = p * z + 0x1.f9a326f9b89b7p-14;
  p = p * z - 0x1.c02db40040b86p-11;
  p = p * z + 0x1.565bcd0e6a53fp-8;
  p = p * z - 0x1.b82ce31288b51p-6;
  p = p * z + 0x1.ce2f21a042be2p-4;
  p = p * z - 0x1.812746b0379e7p-2;  // n = 1
  return p * z;
}

/// erf(x) for |x| <= 1/2.
inline double erf_small(double x) {
  return x * kTwoOverSqrtPiHi + x * (kTwoOverSqrtPiLo + erf_tail_over_x(x));
}

/// Chebyshev coefficients of erfcx(x) = e^(x^2) erfc(x) on [1/2, 1], [1, 2], [2, 4],
/// [4, 8], [8, 16] and [16, 32] (rows; zeros pad the shorter ones). Each is the
/// interpolant at the Chebyshev nodes of the lowest degree whose relative error, on a
/// 401-point grid against 200-bit mpmath, is below 2^-58 (degrees 14, 16, 19, 21, 22,
/// 23). Generated by tools/maths/erfcx_chebyshev.py.
constexpr int kErfcxTerms = 24;
constexpr double kErfcxCheb[6][kErfcxTerms] = {
    {0x1.074c4de1c1e21p-1, -0x1.7f1de3005c3c1p-4, 0x1.e1a8e143d32bap-8, -0x1.0f126d3546595p-11, 0x1.1721493ab0d3ep-15, -0x1.0acaf226b13c2p-19, 0x1.de56ca99bb4a3p-24, -0x1.955a242ece359p-28, 0x1.46b2a1d04c714p-32, -0x1.f74eebd45041cp-37, 0x1.740832a7cadb6p-41, -0x1.08c587b84e5c6p-45, 0x1.6be44491b38fdp-50, -0x1.e412f7345926ep-55, 0x1.37d7863ebade2p-59, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0},
    {0x1.5361ac5e93132p-2, -0x1.5c2b3398a6184p-4, 0x1.46141b3eb5f93p-7, -0x1.1b66a455fc3d1p-10, 0x1.ce592d5eea8d0p-14, -0x1.64e9adacc813cp-17, 0x1.0665602a88e46p-20, -0x1.71472963d64e6p-24, 0x1.f36ee0e516f2ep-28, -0x1.45a677ddd7286p-31, 0x1.9aa2dc95d3dc2p-35, -0x1.f5e34a85c219ap-39, 0x1.29e63d5f23aa7p-42, -0x1.581ada2a1b09ep-46, 0x1.835ff60ec19b5p-50, -0x1.a998623712d22p-54, 0x1.c702a07f72a49p-58, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0},
    {0x1.7fdb12ea2b05cp-3, -0x1.dab2adc8a65e5p-5, 0x1.19a6293706e21p-7, -0x1.4208a58812ad3p-10, 0x1.63fa6fee96a6fp-13, -0x1.7d7c61809576dp-16, 0x1.8d437a7cbaeb5p-19, -0x1.92cc880862addp-22, 0x1.8e56edca9b7c5p-25, -0x1.80caa9382c857p-28, 0x1.6b8ff728f7453p-31, -0x1.505fe1c70ce9ap-34, 0x1.3114901f960cap-37, -0x1.0f7ed656366f8p-40, 0x1.da895afe8f8a4p-44, -0x1.97949a82dd730p-47, 0x1.584be01fd4fd5p-50, -0x1.1e39fc52bd7cap-53, 0x1.d497f9598b60ap-57, -0x1.765214aed4921p-60, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0, 0x0.0p+0},
    {0x1.9163cf0384d34p-4, -0x1.0b3325bc9f077p-5, 0x1.5ee8ac1260f35p-8, -0x1.c6d30736d1aa7p-11, 0x1.230ccd30a9bf7p-13, -0x1.6ffa958b0bcabp-16, 0x1.cbcabbdaf24a3p-19, -0x1.1c00985f348d6p-21, 0x1.5afe62c63a10cp-24, -0x1.a372688d80040p-27, 0x1.f5cb3569a145fp-30, -0x1.2924869722b65p-32, 0x1.5c7abb2224666p-35, -0x1.94cdf8cf94e45p-38, 0x1.d1e22b1ef48bcp-41, -0x1.09abce793fa97p-43, 0x1.2c552f4bbecbfp-46, -0x1.50997dc4680a5p-49, 0x1.7614450cee68ep-52, -0x1.9c517d8d5bf1cp-55, 0x1.c2ad9ac6b4efap-58, -0x1.e0432d2d9df09p-61, 0x0.0p+0, 0x0.0p+0},
    {0x1.96a7136488236p-5, -0x1.14da8b42445d1p-6, 0x1.778d87480c703p-9, -0x1.fb8b9a1e2b8ebp-12, 0x1.55b43d1a111cap-14, -0x1.ca6e9d5172105p-17, 0x1.3269b3b0b4569p-19, -0x1.9827430c76086p-22, 0x1.0ee1e4886a36dp-24, -0x1.664ea5c53b27ep-27, 0x1.d8512dbf0c2c6p-30, -0x1.363df987ab051p-32, 0x1.96314784f15cbp-35, -0x1.0905a8ed564e2p-37, 0x1.58b011c18078fp-40, -0x1.bed5d38d02ea8p-43, 0x1.20b076a3c8c04p-45, -0x1.73d58b585c09cp-48, 0x1.dd678c94901ebp-51, -0x1.318286ba4bf0cp-53, 0x1.85ca8e210a6cdp-56, -0x1.ef7ede5a49fbap-59, 0x1.3286f33afb56ap-61, 0x0.0p+0},
    {0x1.980b8ca8d8159p-6, -0x1.1778271872a06p-7, 0x1.7e72253029cdfp-10, -0x1.056e4e986737fp-12, 0x1.651282e39b2d3p-15, -0x1.e73c55b4dc575p-18, 0x1.4c1b2ba223698p-20, -0x1.c44def7506d83p-23, 0x1.33b5dd037e79fp-25, -0x1.a248eb116b1c5p-28, 0x1.1c074aff3451dp-30, -0x1.815d8b619057dp-33, 0x1.052efce610037p-35, -0x1.61b4b8645344fp-38, 0x1.de8e8d7e9c1d6p-41, -0x1.437008a7b2cfep-43, 0x1.b4cab9117b34ep-46, -0x1.26a9ed48cda88p-48, 0x1.8d32f8ce503acp-51, -0x1.0b75fbd83ea67p-53, 0x1.67de4a88f1e05p-56, -0x1.e3bfeade8e141p-59, 0x1.44999c7bb2929p-61, -0x1.a7ab569abfc22p-64},
};
constexpr double kErfcxMid[6] = {0.75, 1.5, 3.0, 6.0, 12.0, 24.0};
constexpr double kErfcxHalfWidthInv[6] = {4.0, 2.0, 1.0, 0.5, 0.25, 0.125};

/// The entry of a 6-row table that belongs to x's interval, table[k * stride] for
/// interval k. Chosen by selects, not by an index: the compiler vectorises selects
/// (a table read at a per-lane index kept erf's loop scalar, 5x slower).
inline double by_erfcx_interval(double x, const double* table, int stride) {
  double c = table[0];
  c = x >= 1.0 ? table[1 * stride] : c;
  c = x >= 2.0 ? table[2 * stride] : c;
  c = x >= 4.0 ? table[3 * stride] : c;
  c = x >= 8.0 ? table[4 * stride] : c;
  c = x >= 16.0 ? table[5 * stride] : c;
  return c;
}

/// erfcx(x) for x in [1/2, 32], by Clenshaw's recurrence on the interval's series.
inline double erfcx_cheb(double x) {
  const double u = (x - by_erfcx_interval(x, kErfcxMid, 1)) * by_erfcx_interval(x, kErfcxHalfWidthInv, 1);  // exact
  double b1 = 0.0, b2 = 0.0;
#pragma GCC unroll 32
  for (int j = kErfcxTerms - 1; j >= 1; --j) {
    const double t = (2.0 * u) * b1 - b2 + by_erfcx_interval(x, &kErfcxCheb[0][j], kErfcxTerms);
    b2 = b1;
    b1 = t;
  }
  return (u * b1 - b2) + by_erfcx_interval(x, &kErfcxCheb[0][0], kErfcxTerms);
}

/// erfc(x) for x >= 1/2: e^(-x^2) erfcx(x), with e^(-x^2) = e^(-h^2) e^(-d), h = x
/// with 26 significant bits (h^2 exact) and d = (x - h)(x + h) tiny, so that the
/// rounding of x^2 (up to 2^-43 absolute near 27) does not reach the result. Beyond
/// 28 the result is 0 (erfc(27.3) already underflows).
inline double erfc_large(double x) {
  const double xc = x > 28.0 ? 28.0 : x;
  const double h = from_bits(bits(xc) & ~((std::uint64_t{1} << 27) - 1));
  const double d = (xc - h) * (xc + h);
  const double f = erfcx_cheb(xc);
  const double result = exp(-(h * h)) * (f + f * expm1(-d));
  return x > 28.0 ? 0.0 : result;
}

// erf(x): the series for |x| <= 1/2, else sign(x) (1 - erfc(|x|)) (erfc(|x|) < 0.48,
// so the subtraction loses nothing).
inline double erf(double x) {
  const double a = std::fabs(x);
  const double big = std::copysign(1.0 - erfc_large(a < 0.5 ? 0.5 : a), x);
  const double result = a <= 0.5 ? erf_small(a > 0.5 ? 0.0 : x) : big;
  return x != x ? x + x : result;
}

// erfc(x) = 1 - erf(x) for |x| <= 1/2; erfc_large(x) for x > 1/2; 2 - erfc_large(-x)
// for x < -1/2.
inline double erfc(double x) {
  const double a = std::fabs(x);
  const double large = erfc_large(a < 0.5 ? 0.5 : a);
  const double result = a <= 0.5 ? 1.0 - erf_small(a > 0.5 ? 0.0 : x) : (x > 0.0 ? large : 2.0 - large);
  return x != x ? x + x : result;
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
inline float erf(float x) { return static_cast<float>(erf(static_cast<double>(x))); }
inline float erfc(float x) { return static_cast<float>(erfc(static_cast<double>(x))); }
inline float logaddexp(float x, float y) {
  return static_cast<float>(logaddexp(static_cast<double>(x), static_cast<double>(y)));
}

}  // namespace eigengrad::kernels::math
