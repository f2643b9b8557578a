// The transcendental functions of the element-wise kernels, written once, in plain
// branch-free scalar C++ that the compiler vectorises.
//
// Note [Same result on every CPU]
// An element's result must not depend on the instruction set (SSE2, AVX2, AVX-512)
// nor on whether it falls in the vector body or the scalar tail of a loop. So these
// functions use only correctly rounded IEEE operations (+ - * / and comparisons),
// integer bit manipulation and selects, in a fixed order; the core is compiled with
// -ffp-contract=off (no a*b+c fused into an FMA on the CPUs that have one). A
// vectorised loop then computes, lane by lane, exactly what the scalar code computes.
// Eigen's vectorised exp/log/tanh were not like that: their AVX2 and AVX-512 code
// differ, and differ from the scalar std:: functions used in the tail.
//
// These are the float64 functions; math_float.h has the float32 ones (Note [float32
// functions]).
//
// Accuracy, measured against 80-bit long double references over random and
// structured inputs (tests/ops/test_special_values.py checks these bounds; the
// measured maxima in brackets):
//   exp <= 1 ulp (0.62; 1 where the result is subnormal), expm1 <= 1.5 (1.17),
//   log, log1p <= 1.5 (1.29), tanh, sigmoid, sin, cos <= 2.5 (2.47)
// and at the special points (+-0, +-inf, NaN, subnormals, the overflow and underflow
// thresholds) the exact results NumPy gives. Elsewhere a result can differ from
// NumPy's (glibc's, on most CPUs) in the last bit or two, as NumPy's own results
// differ between CPUs with and without AVX-512.
//
// The polynomials are truncated Taylor series (coefficients 1/n!, or 2/(2k+1) for
// atanh), each long enough that the truncation error is below 2^-58 relative on
// its reduced interval.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace eigengrad::kernels::math {

inline std::uint64_t bits(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline double from_bits(std::uint64_t u) {
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Adding kShifter to |y| < 2^51 rounds y to an integer n held in the low bits of the
// sum's significand: bits(y + kShifter) - bits(kShifter) == n. No float-to-int
// conversion (AVX2 has none for 64-bit integers), so the loops vectorise.
constexpr double kShifter = 0x1.8p52;
constexpr double kLog2e = 0x1.71547652b82fep+0;
// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 32 significant bits, so k * kLn2Hi is exact.
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
constexpr double kSqrt2 = 0x1.6a09e667f3bcdp+0;
// pi/2 = kPio2A + kPio2B + kPio2C; A and B have 33 significant bits, so k * A and
// k * B are exact for |k| < 2^20.
constexpr double kPio2A = 0x1.921fb54400000p+0;
constexpr double kPio2B = 0x1.0b4611a600000p-34;
constexpr double kPio2C = 0x1.3198a2e037073p-69;
constexpr double kTwoOverPi = 0x1.45f306dc9c883p-1;
constexpr double kInf = HUGE_VAL;
constexpr double kNaN = __builtin_nan("");

/// y rounded to the nearest integer (ties to even), for |y| < 2^51.
inline double round_to_int(double y) { return (y + kShifter) - kShifter; }

/// 2^n for an integer-valued n in [-1022, 1023].
inline double pow2(double n) {
  return from_bits((bits(n + (kShifter + 1023)) - bits(kShifter)) << 52);
}

/// e^r - 1 - r for |r| <= ln(2)/2 + a little: r^2/2! + ... + r^14/14!.
inline double expm1_tail(double r) {
  double p = 1.0 / 87178291200.0;  // 1/14!
  p = p * r + 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  return p * (r * r);
}

/// x = k ln2 + (hi - lo) with k integer and |hi - lo| <= ln(2)/2 + a little. hi is
/// exact (k * kLn2Hi has at most 43 significant bits and is within a factor 2 of x);
/// lo = k kLn2Lo carries the rest of k ln2.
struct Reduced {
  double k, hi, lo;
  double r() const { return hi - lo; }
  /// The rounding error of r(): r() + r_error() == hi - lo to about 2^-105 |r|.
  double r_error() const { return (hi - r()) - lo; }
};

inline Reduced reduce_ln2(double x) {
  const double k = round_to_int(x * kLog2e);
  return {k, x - k * kLn2Hi, k * kLn2Lo};
}

/// Sum a + b as s + err exactly (Knuth's TwoSum: no condition on |a|, |b|).
inline double two_sum(double a, double b, double& err) {
  const double s = a + b;
  const double bb = s - a;
  err = (a - (s - bb)) + (b - bb);
  return s;
}

// exp(x) = 2^k e^r, x = k ln2 + r, with e^r = 1 + r + tail(r) summed so that the
// only large rounding is the last one (1 + r is split exactly into s + err): within
// about 0.52 ulp, so the result is almost always the correctly rounded one.
// 2^k is applied as 2^k1 * 2^k2 (k1 ~ k/2): each factor is a normal number for
// every k from -1600 to 1600, and the last product rounds once, so results that
// overflow become inf and those below 2^-1022 underflow gradually, as in libm.
inline double exp(double x) {
  const double xc = x < -1100.0 ? -1100.0 : (x > 1100.0 ? 1100.0 : x);
  const Reduced red = reduce_ln2(xc);
  const double r = red.r();
  double err;
  const double s = two_sum(1.0, r, err);
  const double p = s + (err + (red.r_error() + expm1_tail(r)));
  const double k1 = round_to_int(red.k * 0.5);
  const double result = (p * pow2(k1)) * pow2(red.k - k1);
  return x != x ? x + x : result;
}

// expm1(x) = e^x - 1, accurate near 0.
// |x| <= ln(2)/2 (k = 0): r + tail(r) (no cancellation; r = x exactly).
// Otherwise, x = k ln2 + r: (2^k - 1) + 2^k (e^r - 1), with 2^k - 1 exact for
// |k| <= 53 and the large part of the sum split exactly, so that one rounding
// dominates. Beyond 40 the result is e^x (overflowing like it); below -40 it is -1.
inline double expm1(double x) {
  const double xc = x < -40.0 ? -40.0 : (x > 40.0 ? 40.0 : x);
  const Reduced red = reduce_ln2(xc);
  const double r = red.r();
  const double small = red.r_error() + expm1_tail(r);  // e^r - 1 = r + small
  const double scale = pow2(red.k);
  double err;
  const double s = two_sum(scale - 1.0, scale * r, err);
  const double reduced = red.k == 0.0 ? r + small : s + (err + scale * small);
  const double result = x > 40.0 ? exp(x) : (x < -40.0 ? -1.0 : reduced);
  return x != x ? x + x : (x == 0.0 ? x : result);  // expm1(-0) = -0
}

/// (2 atanh(s) - 2s) / s for |s| <= 0.1716 (s = f / (2 + f), f in [sqrt(1/2) - 1,
/// sqrt 2 - 1]): 2s^2/3 + 2s^4/5 + ... + 2s^22/23.
inline double atanh_tail_over_s(double s) {
  const double z = s * s;
  double p = 2.0 / 23.0;
  p = p * z + 2.0 / 21.0;
  p = p * z + 2.0 / 19.0;
  p = p * z + 2.0 / 17.0;
  p = p * z + 2.0 / 15.0;
  p = p * z + 2.0 / 13.0;
  p = p * z + 2.0 / 11.0;
  p = p * z + 2.0 / 9.0;
  p = p * z + 2.0 / 7.0;
  p = p * z + 2.0 / 5.0;
  p = p * z + 2.0 / 3.0;
  return p * z;
}

// log(x) = e ln2 + log(m), x = m 2^e with m in [sqrt(1/2), sqrt 2): with f = m - 1
// (exact) and s = f / (2 + f), log(m) = 2 atanh(s) = 2s + sR = f - s (f - R), with
// R = atanh_tail_over_s(s) (2s = f - sf).
// Subnormal x is scaled by 2^54 first. log(0) = -inf, log(x < 0) = NaN.
inline double log(double x) {
  const bool subnormal = x < 0x1p-1022;
  const std::uint64_t u = bits(subnormal ? x * 0x1p54 : x);
  // The biased exponent as a double, by the same trick in reverse.
  const double biased = from_bits(((u >> 52) & 0x7ff) | bits(0x1p52)) - 0x1p52;
  double e = biased - (subnormal ? 1023.0 + 54.0 : 1023.0);
  double m = from_bits((u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  const bool high = m > kSqrt2;
  m = high ? m * 0.5 : m;
  e = high ? e + 1.0 : e;
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double log_m = f - s * (f - atanh_tail_over_s(s));
  const double result = e * kLn2Hi + (log_m + e * kLn2Lo);
  const double special = x == 0.0 ? -kInf : (x == kInf ? kInf : kNaN);
  return (x > 0.0 && x < kInf) ? result : (x != x ? x + x : special);
}

// log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the second term is
// the first-order correction for the rounding of u (exact x for tiny x).
inline double log1p(double x) {
  const double u = 1.0 + x;
  const double result = log(u) + (x - (u - 1.0)) / u;
  const double edge = u == 0.0 ? -kInf : (x == kInf ? kInf : result);
  return x == 0.0 ? x : (x != x ? x + x : edge);  // log1p(-0) = -0
}

// tanh(x) = sign(x) e / (e + 2), e = expm1(2|x|): no cancellation anywhere. For
// |x| > 20, tanh rounds to +-1 in double.
inline double tanh(double x) {
  const double a = std::fabs(x);
  const double e = expm1(a + a);
  const double t = a > 20.0 ? 1.0 : e / (e + 2.0);
  return x != x ? x + x : std::copysign(t, x);
}

// sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0: the
// exponential never overflows, and tiny results keep their precision.
inline double sigmoid(double x) {
  const double e = exp(-std::fabs(x));
  const double result = x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  return x != x ? x + x : result;
}

/// sin(r) for |r| <= pi/4 (+ a little): r - r^3/3! + ... + r^19/19!.
inline double sin_reduced(double r) {
  const double z = r * r;
  double p = -1.0 / 121645100408832000.0;  // -1/19!
  p = p * z + 1.0 / 355687428096000.0;
  p = p * z - 1.0 / 1307674368000.0;
  p = p * z + 1.0 / 6227020800.0;
  p = p * z - 1.0 / 39916800.0;
  p = p * z + 1.0 / 362880.0;
  p = p * z - 1.0 / 5040.0;
  p = p * z + 1.0 / 120.0;
  p = p * z - 1.0 / 6.0;
  return r + r * (z * p);
}

/// cos(r) for |r| <= pi/4 (+ a little): 1 - r^2/2! + ... + r^20/20!, as
/// w + (e + tail) with w = 1 - r^2/2 rounded and e its rounding error (exact).
inline double cos_reduced(double r) {
  const double z = r * r;
  double p = 1.0 / 2432902008176640000.0;  // 1/20!
  p = p * z - 1.0 / 6402373705728000.0;
  p = p * z + 1.0 / 20922789888000.0;
  p = p * z - 1.0 / 87178291200.0;
  p = p * z + 1.0 / 479001600.0;
  p = p * z - 1.0 / 3628800.0;
  p = p * z + 1.0 / 40320.0;
  p = p * z - 1.0 / 720.0;
  p = p * z + 1.0 / 24.0;
  const double h = 0.5 * z;
  const double w = 1.0 - h;
  return w + (((1.0 - w) - h) + z * (z * p));
}

/// The largest |x| whose reduction by pi/2 is done here; larger (and inf, NaN) go to
/// std::sin / std::cos (see fast_sin_cos_ok). Those few elements (|x| > 2^19, or
/// within 2^-40 of a multiple of pi/2) are chosen by value on every CPU, but their
/// last bit is the C library's: glibc picks an FMA or an SSE2 sin at run time, and
/// the two may differ in rare last-bit cases.
constexpr double kSinCosFastLimit = 0x1p19;

/// Whether sin/cos(x) computed below are within their bound: |x| small enough for
/// the 3-part reduction and not within 2^-40 of a multiple of pi/2 (where the
/// reduced argument has lost bits). Decided by the value only, so the same
/// elements take the slow path on every CPU.
inline bool fast_sin_cos_ok(double x, double r) {
  return std::fabs(x) <= kSinCosFastLimit && (std::fabs(r) >= 0x1p-40 || std::fabs(x) < 0.75);
}

/// x = k pi/2 + r with |r| <= pi/4: returns r, sets the quadrant k mod 4.
inline double reduce_pio2(double x, std::uint64_t& quadrant) {
  const double xc = std::fabs(x) <= kSinCosFastLimit ? x : 0.0;
  const double t = xc * kTwoOverPi + kShifter;
  const double k = t - kShifter;
  quadrant = (bits(t) - bits(kShifter)) & 3;
  return ((xc - k * kPio2A) - k * kPio2B) - k * kPio2C;
}

/// sin(r + q pi/2) from s = sin(r) and c = cos(r): [s, c, -s, -c] by q mod 4.
inline double by_quadrant(double s, double c, std::uint64_t q) {
  const double v = (q & 1) ? c : s;
  return (q & 2) ? -v : v;
}

// sin(x) and cos(x) = sin(x + pi/2). Elements that are not fast_sin_cos_ok come out
// wrong here: the kernel redoes them with std::sin / std::cos.
inline double sin(double x, bool& ok) {
  std::uint64_t q;
  const double r = reduce_pio2(x, q);
  ok = fast_sin_cos_ok(x, r);
  const double result = by_quadrant(sin_reduced(r), cos_reduced(r), q);
  return x == 0.0 ? x : result;  // sin(-0) = -0
}

inline double cos(double x, bool& ok) {
  std::uint64_t q;
  const double r = reduce_pio2(x, q);
  ok = fast_sin_cos_ok(x, r);
  return by_quadrant(sin_reduced(r), cos_reduced(r), q + 1);
}

}  // namespace eigengrad::kernels::math
