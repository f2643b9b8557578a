// The element-wise product and quotient of the strong zero: how a derivative rule
// multiplies a cotangent (or tangent) g by a local derivative d.
//
// Note [Strong zero]
// A zero cotangent or tangent stays zero through every rule: g * d is 0 where g == 0,
// even where d is inf or NaN (the local derivative of a branch not taken, as sqrt'
// at x <= 0 in where(x > 0, sqrt(x), 0)). A nonzero g times an inf d stays inf, and
// a NaN g stays NaN: only the 0 * inf and 0 * NaN of the plain product change.
//
// Written as the plain IEEE product and a select on it, so that:
//  - every other result is exactly the plain product's, bit for bit (also the sign
//    of a zero: 0 * -2 is still -0);
//  - the loop vectorises, and the vector body, the scalar tail and every instruction
//    set give the same bits (Note [Same result on every CPU] in math.h).
//
// The ops' rules call detail::strong_mul / strong_div (ops/binary.cpp), which record
// these as differentiable ops when strong zero is on (the default) and are the plain
// mul / div when eigengrad::set_strong_zero(false) asks for PyTorch's behaviour.
// Factors that are always finite (masks, tie shares, softmax weights of finite
// inputs) need nothing: 0 * finite is already 0.
#pragma once

namespace eigengrad::kernels {

/// g * d, except 0 where g == 0 and the product is NaN.
template <class T>
inline T strong_mul(T g, T d) {
  const T r = g * d;
  return (g == T(0) && r != r) ? T(0) : r;
}

/// g / d, except 0 where g == 0 and the quotient is NaN (0 / 0, 0 / NaN).
template <class T>
inline T strong_div(T g, T d) {
  const T r = g / d;
  return (g == T(0) && r != r) ? T(0) : r;
}

/// The product of a rule: strong_mul when Strong, else the plain product.
template <bool Strong, class T>
inline T rule_mul(T g, T d) {
  if constexpr (Strong) return strong_mul(g, d);
  return g * d;
}

}  // namespace eigengrad::kernels
