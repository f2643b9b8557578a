// Element-wise ops of one input. Each block: the maths, the forward kernel, the VJP
// (written with differentiable ops, so it can itself be differentiated).
#include "common.h"

namespace eigengrad {

using kernels::Unary;
using detail::constant;
using Grads = std::vector<Variable>;

namespace {
Tensor run(Unary op, const Variable& x) { return kernels::unary(op, x.data()); }
}  // namespace

Variable scalar_like(double value, const Variable& x) {
  return Variable(Tensor::scalar(value, x.dtype()));
}

// neg(x) = -x
//   vjp: gx = -gout
Variable neg(const Variable& x) {
  return record("neg", run(Unary::Neg, x), {x},
                [](const BackwardArgs& a) -> Grads { return {neg(a.gout)}; });
}

// exp(x) = e^x
//   vjp: gx = gout * out        (uses the output: no recomputation)
Variable exp(const Variable& x) {
  return record("exp", run(Unary::Exp, x), {x},
                [](const BackwardArgs& a) -> Grads { return {a.gout * a.out}; }, true);
}

// log(x)
//   vjp: gx = gout / x
Variable log(const Variable& x) {
  return record("log", run(Unary::Log, x), {x},
                [x](const BackwardArgs& a) -> Grads { return {a.gout / x}; });
}

// sqrt(x)
//   vjp: gx = gout / (2 out)
Variable sqrt(const Variable& x) {
  return record("sqrt", run(Unary::Sqrt, x), {x},
                [](const BackwardArgs& a) -> Grads { return {a.gout / (a.out * 2.0)}; }, true);
}

// abs(x) = |x|
//   vjp: gx = gout * sign(x)    (sign(0) = 0: the convention abs'(0) = 0)
Variable abs(const Variable& x) {
  return record("abs", run(Unary::Abs, x), {x}, [x](const BackwardArgs& a) -> Grads {
    return {a.gout * constant(kernels::unary(Unary::Sign, x.data()))};
  });
}

// tanh(x)
//   vjp: gx = gout * (1 - out^2)
Variable tanh(const Variable& x) {
  return record("tanh", run(Unary::Tanh, x), {x}, [](const BackwardArgs& a) -> Grads {
    return {a.gout * sub(scalar_like(1.0, a.out), square(a.out))};
  }, true);
}

// sigmoid(x) = 1 / (1 + e^-x)
//   vjp: gx = gout * out * (1 - out)
Variable sigmoid(const Variable& x) {
  return record("sigmoid", run(Unary::Sigmoid, x), {x}, [](const BackwardArgs& a) -> Grads {
    return {a.gout * a.out * sub(scalar_like(1.0, a.out), a.out)};
  }, true);
}

// relu(x) = max(x, 0)
//   vjp: gx = gout * [out > 0]  (relu'(0) = 0; out > 0 exactly where x > 0)
Variable relu(const Variable& x) {
  return record("relu", run(Unary::Relu, x), {x}, [](const BackwardArgs& a) -> Grads {
    return {a.gout * constant(kernels::unary(Unary::Step, a.out.data()))};
  }, true);
}

// sin(x)
//   vjp: gx = gout * cos(x)
Variable sin(const Variable& x) {
  return record("sin", run(Unary::Sin, x), {x},
                [x](const BackwardArgs& a) -> Grads { return {a.gout * cos(x)}; });
}

// cos(x)
//   vjp: gx = -gout * sin(x)
Variable cos(const Variable& x) {
  return record("cos", run(Unary::Cos, x), {x},
                [x](const BackwardArgs& a) -> Grads { return {neg(a.gout * sin(x))}; });
}

// log1p(x) = log(1 + x), accurate near 0
//   vjp: gx = gout / (1 + x)
Variable log1p(const Variable& x) {
  return record("log1p", run(Unary::Log1p, x), {x},
                [x](const BackwardArgs& a) -> Grads { return {a.gout / (x + 1.0)}; });
}

// expm1(x) = e^x - 1, accurate near 0
//   vjp: gx = gout * (out + 1)
Variable expm1(const Variable& x) {
  return record("expm1", run(Unary::Expm1, x), {x},
                [](const BackwardArgs& a) -> Grads { return {a.gout * (a.out + 1.0)}; }, true);
}

// square(x) = x^2
//   vjp: gx = gout * 2x
Variable square(const Variable& x) {
  return record("square", run(Unary::Square, x), {x},
                [x](const BackwardArgs& a) -> Grads { return {a.gout * (x * 2.0)}; });
}

// sign(x), piecewise constant
//   vjp: gx = 0                 (an explicit zero, so gradcheck sees a derivative)
Variable sign(const Variable& x) {
  return record("sign", run(Unary::Sign, x), {x}, [x](const BackwardArgs&) -> Grads {
    return {constant(Tensor::zeros(x.shape(), x.dtype()))};
  });
}

}  // namespace eigengrad
