// Element-wise ops of one input. Each block: the maths, the forward kernel, the VJP
// and the JVP (both written with differentiable ops, so they can be differentiated
// again). Element-wise rules broadcast over any leading batch dimensions as they are.
// The activations' VJPs take a fused one-pass kernel in a plain backward (see
// detail::fused_backward); the composed rule is the one that gets differentiated.
// Every product or quotient of a cotangent or tangent with a local derivative that
// can be inf or NaN is strong_mul / strong_div (Note [Strong zero] in
// kernels/strong_zero.h); both paths keep a zero cotangent zero.
#include "common.h"

namespace eigengrad {

using kernels::Unary;
using detail::constant;
using detail::fused_backward;
using detail::record_op;
using detail::strong_div;
using detail::strong_mul;
using Grads = std::vector<Variable>;

namespace {
Tensor run(Unary op, const Variable& x) { return kernels::unary(op, x.data()); }

/// The fused one-pass backward of an activation, when the rule may take it.
bool fused(const BackwardArgs& a) { return fused_backward(a) && a.gout.dtype() == a.out.dtype(); }
Grads fused_grad(kernels::UnaryGrad op, const BackwardArgs& a) {
  return {constant(kernels::unary_grad(op, a.gout.data(), a.out.data(), strong_zero_enabled()))};
}
}  // namespace

Variable scalar_like(double value, const Variable& x) {
  return Variable(Tensor::scalar(value, x.dtype()));
}

// neg(x) = -x
//   vjp: gx = -gout
//   jvp: tout = -tx
Variable neg(const Variable& x) {
  return record_op("neg", run(Unary::Neg, x), {x},
                   [](const BackwardArgs& a) -> Grads { return {neg(a.gout)}; },
                   [](const JvpArgs& a) { return neg(a.t(0)); });
}

// exp(x) = e^x
//   vjp: gx = gout * out        (uses the output: no recomputation)
//   jvp: tout = tx * out
Variable exp(const Variable& x) {
  return record_op("exp", run(Unary::Exp, x), {x},
                   [](const BackwardArgs& a) -> Grads {
                     if (fused(a)) return fused_grad(kernels::UnaryGrad::Exp, a);
                     return {strong_mul(a.gout, a.out)};
                   },
                   [](const JvpArgs& a) { return strong_mul(a.t(0), a.out); }, true);
}

// log(x)
//   vjp: gx = gout / x
//   jvp: tout = tx / x
Variable log(const Variable& x) {
  return record_op("log", run(Unary::Log, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, x)}; },
                   [x](const JvpArgs& a) { return strong_div(a.t(0), x); });
}

// sqrt(x)
//   vjp: gx = gout / (2 out)
//   jvp: tout = tx / (2 out)
Variable sqrt(const Variable& x) {
  return record_op("sqrt", run(Unary::Sqrt, x), {x},
                   [](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, a.out * 2.0)}; },
                   [](const JvpArgs& a) { return strong_div(a.t(0), a.out * 2.0); }, true);
}

// abs(x) = |x|
//   vjp: gx = gout * sign(x)    (sign(0) = 0: the convention abs'(0) = 0)
//   jvp: tout = tx * sign(x)
Variable abs(const Variable& x) {
  auto sign_x = [x] { return constant(kernels::unary(Unary::Sign, x.data())); };
  return record_op("abs", run(Unary::Abs, x), {x},
                   [sign_x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, sign_x())}; },
                   [sign_x](const JvpArgs& a) { return strong_mul(a.t(0), sign_x()); });
}

// tanh(x)
//   vjp: gx = gout * (1 - out^2)
//   jvp: tout = tx * (1 - out^2)
Variable tanh(const Variable& x) {
  return record_op("tanh", run(Unary::Tanh, x), {x},
                   [](const BackwardArgs& a) -> Grads {
                     if (fused(a)) return fused_grad(kernels::UnaryGrad::Tanh, a);
                     return {strong_mul(a.gout, sub(scalar_like(1.0, a.out), square(a.out)))};
                   },
                   [](const JvpArgs& a) { return strong_mul(a.t(0), sub(scalar_like(1.0, a.out), square(a.out))); },
                   true);
}

// sigmoid(x) = 1 / (1 + e^-x)
//   vjp: gx = gout * out * (1 - out)
//   jvp: tout = tx * out * (1 - out)
Variable sigmoid(const Variable& x) {
  return record_op("sigmoid", run(Unary::Sigmoid, x), {x},
                   [](const BackwardArgs& a) -> Grads {
                     if (fused(a)) return fused_grad(kernels::UnaryGrad::Sigmoid, a);
                     return {strong_mul(strong_mul(a.gout, a.out), sub(scalar_like(1.0, a.out), a.out))};
                   },
                   [](const JvpArgs& a) {
                     return strong_mul(strong_mul(a.t(0), a.out), sub(scalar_like(1.0, a.out), a.out));
                   },
                   true);
}

// relu(x) = max(x, 0)
//   vjp: gx = gout * [out > 0]  (relu'(0) = 0; out > 0 exactly where x > 0; masked_mul:
//                                0 for x <= 0 whatever gout is, as the fused kernel)
//   jvp: tout = tx * [out > 0]
Variable relu(const Variable& x) {
  auto step = [](const Variable& out) { return constant(kernels::unary(Unary::Step, out.data())); };
  return record_op("relu", run(Unary::Relu, x), {x},
                   [step](const BackwardArgs& a) -> Grads {
                     if (fused(a)) return fused_grad(kernels::UnaryGrad::Relu, a);
                     return {detail::masked_mul(step(a.out), a.gout)};
                   },
                   [step](const JvpArgs& a) { return detail::masked_mul(step(a.out), a.t(0)); }, true);
}

// sin(x)
//   vjp: gx = gout * cos(x)
//   jvp: tout = tx * cos(x)
Variable sin(const Variable& x) {
  return record_op("sin", run(Unary::Sin, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, cos(x))}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), cos(x)); });
}

// cos(x)
//   vjp: gx = -gout * sin(x)
//   jvp: tout = -tx * sin(x)
Variable cos(const Variable& x) {
  return record_op("cos", run(Unary::Cos, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {neg(strong_mul(a.gout, sin(x)))}; },
                   [x](const JvpArgs& a) { return neg(strong_mul(a.t(0), sin(x))); });
}

// log1p(x) = log(1 + x), accurate near 0
//   vjp: gx = gout / (1 + x)
//   jvp: tout = tx / (1 + x)
Variable log1p(const Variable& x) {
  return record_op("log1p", run(Unary::Log1p, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, x + 1.0)}; },
                   [x](const JvpArgs& a) { return strong_div(a.t(0), x + 1.0); });
}

// expm1(x) = e^x - 1, accurate near 0
//   vjp: gx = gout * (out + 1)
//   jvp: tout = tx * (out + 1)
Variable expm1(const Variable& x) {
  return record_op("expm1", run(Unary::Expm1, x), {x},
                   [](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, a.out + 1.0)}; },
                   [](const JvpArgs& a) { return strong_mul(a.t(0), a.out + 1.0); }, true);
}

// square(x) = x^2
//   vjp: gx = gout * 2x
//   jvp: tout = tx * 2x
Variable square(const Variable& x) {
  return record_op("square", run(Unary::Square, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, x * 2.0)}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), x * 2.0); });
}

namespace {
/// 1 - x^2 as (1 - x)(1 + x): accurate near x = +-1, where the rules below have poles.
Variable one_minus_square(const Variable& x) { return mul(sub(scalar_like(1.0, x), x), x + 1.0); }
}  // namespace

// arctan(x)
//   vjp: gx = gout / (1 + x^2)
//   jvp: tout = tx / (1 + x^2)
Variable arctan(const Variable& x) {
  return record_op("arctan", run(Unary::Arctan, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, square(x) + 1.0)}; },
                   [x](const JvpArgs& a) { return strong_div(a.t(0), square(x) + 1.0); });
}

// arcsin(x), |x| <= 1
//   vjp: gx = gout / sqrt((1 - x)(1 + x))   (+inf at x = +-1: the one-sided limit)
//   jvp: tout = tx / sqrt((1 - x)(1 + x))
Variable arcsin(const Variable& x) {
  return record_op("arcsin", run(Unary::Arcsin, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, sqrt(one_minus_square(x)))}; },
                   [x](const JvpArgs& a) { return strong_div(a.t(0), sqrt(one_minus_square(x))); });
}

// arccos(x), |x| <= 1
//   vjp: gx = -gout / sqrt((1 - x)(1 + x))  (-inf at x = +-1)
//   jvp: tout = -tx / sqrt((1 - x)(1 + x))
Variable arccos(const Variable& x) {
  return record_op("arccos", run(Unary::Arccos, x), {x},
                   [x](const BackwardArgs& a) -> Grads {
                     return {neg(strong_div(a.gout, sqrt(one_minus_square(x))))};
                   },
                   [x](const JvpArgs& a) { return neg(strong_div(a.t(0), sqrt(one_minus_square(x)))); });
}

// sinh(x)
//   vjp: gx = gout * cosh(x)
//   jvp: tout = tx * cosh(x)
Variable sinh(const Variable& x) {
  return record_op("sinh", run(Unary::Sinh, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, cosh(x))}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), cosh(x)); });
}

// cosh(x)
//   vjp: gx = gout * sinh(x)
//   jvp: tout = tx * sinh(x)
Variable cosh(const Variable& x) {
  return record_op("cosh", run(Unary::Cosh, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, sinh(x))}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), sinh(x)); });
}

// arctanh(x), |x| <= 1
//   vjp: gx = gout / ((1 - x)(1 + x))     (+inf at x = +-1)
//   jvp: tout = tx / ((1 - x)(1 + x))
Variable arctanh(const Variable& x) {
  return record_op("arctanh", run(Unary::Arctanh, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_div(a.gout, one_minus_square(x))}; },
                   [x](const JvpArgs& a) { return strong_div(a.t(0), one_minus_square(x)); });
}

// softplus(x) = log(1 + e^x), stable for any x
//   vjp: gx = gout * sigmoid(x)
//   jvp: tout = tx * sigmoid(x)
Variable softplus(const Variable& x) {
  return record_op("softplus", run(Unary::Softplus, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, sigmoid(x))}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), sigmoid(x)); });
}

// log_sigmoid(x) = log(sigmoid(x)) = -softplus(-x), stable for any x
//   vjp: gx = gout * sigmoid(-x)
//   jvp: tout = tx * sigmoid(-x)
Variable log_sigmoid(const Variable& x) {
  return record_op("log_sigmoid", run(Unary::LogSigmoid, x), {x},
                   [x](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, sigmoid(neg(x)))}; },
                   [x](const JvpArgs& a) { return strong_mul(a.t(0), sigmoid(neg(x))); });
}

// erf(x) = 2/sqrt(pi) integral_0^x e^(-t^2) dt
//   vjp: gx = gout * 2/sqrt(pi) e^(-x^2)
//   jvp: tout = tx * 2/sqrt(pi) e^(-x^2)
Variable erf(const Variable& x) {
  auto slope = [x] { return exp(neg(square(x))) * 1.1283791670955126; };
  return record_op("erf", run(Unary::Erf, x), {x},
                   [slope](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, slope())}; },
                   [slope](const JvpArgs& a) { return strong_mul(a.t(0), slope()); });
}

// erfc(x) = 1 - erf(x), accurate where erf(x) is near 1
//   vjp: gx = -gout * 2/sqrt(pi) e^(-x^2)
//   jvp: tout = -tx * 2/sqrt(pi) e^(-x^2)
Variable erfc(const Variable& x) {
  auto slope = [x] { return exp(neg(square(x))) * -1.1283791670955126; };
  return record_op("erfc", run(Unary::Erfc, x), {x},
                   [slope](const BackwardArgs& a) -> Grads { return {strong_mul(a.gout, slope())}; },
                   [slope](const JvpArgs& a) { return strong_mul(a.t(0), slope()); });
}

// sign(x), piecewise constant
//   vjp: gx = 0                 (an explicit zero, so gradcheck sees a derivative)
//   jvp: tout = 0               (undefined: a zero tangent)
Variable sign(const Variable& x) {
  return record_op("sign", run(Unary::Sign, x), {x},
                   [](const BackwardArgs& a) -> Grads {
                     return {constant(Tensor::zeros(a.gout.shape(), a.gout.dtype()))};
                   },
                   [](const JvpArgs&) { return Variable(); });
}

}  // namespace eigengrad
