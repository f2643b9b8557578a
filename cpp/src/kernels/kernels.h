// The numeric kernels: plain functions from tensors to new tensors. No autodiff and
// no argument validation here: the ops in ../ops validate and then call these.
// All inputs of one call share a dtype (the ops promote first).
#pragma once

#include <cstdint>
#include <vector>

#include "eigengrad/tensor.h"

namespace eigengrad::kernels {

enum class Unary {
  Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, Relu, Sin, Cos, Log1p, Expm1, Square,
  Arctan, Arcsin, Arccos, Sinh, Cosh, Arctanh, Softplus, LogSigmoid, Erf, Erfc,
  Sign,     // -1, 0, 1; NaN stays NaN
  Step,     // 1 where x > 0, else 0 (the derivative of relu)
  IsNegInf  // 1 where x == -inf, else 0
};
Tensor unary(Unary op, const Tensor& x);

/// Fused backward of an activation from its output: gout * f'(x) in one pass.
enum class UnaryGrad {
  Tanh,     // gout * (1 - out^2)
  Sigmoid,  // gout * out * (1 - out)
  Relu,     // gout * [out > 0]
  Exp,      // gout * out
};
/// gout and out have the same shape and dtype. `strong`: the product is strong_mul
/// (Note [Strong zero] in strong_zero.h).
Tensor unary_grad(UnaryGrad op, const Tensor& gout, const Tensor& out, bool strong);

enum class Binary {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  MaxWeight,     // share of d maximum(x, y) / dx: 1 if x > y or x is NaN, 1/2 on ties, else 0
  MinWeight,     // the same for minimum
  Equal,         // 1 where x == y or both are NaN, else 0
  NonZeroMask,   // 1 where x != 0, else 0 (y unused: pass x)
  StrongMul,     // x * y, but 0 where x == 0 (Note [Strong zero] in strong_zero.h)
  StrongDiv,     // x / y, but 0 where x == 0
  Logaddexp,     // log(e^x + e^y), NumPy's
  Arctan2,       // NumPy's arctan2(x, y): the angle of the point (y, x)
  SameInfinity,  // 1 where x == y and both are +inf or both -inf, else 0
};
/// Element-wise with NumPy broadcasting; x and y share a dtype. `name` is the op
/// named in the error when the shapes do not broadcast.
Tensor binary(Binary op, const Tensor& x, const Tensor& y, const char* name = "binary");
/// condition != 0 ? x : y, broadcasting all three (condition converted to x's dtype).
Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y);
/// Limits x to [lo, hi]; NaN propagates.
Tensor clip(const Tensor& x, double lo, double hi);
/// 1 where lo <= x <= hi or x is NaN (where clip passes the gradient), else 0.
Tensor clip_mask(const Tensor& x, double lo, double hi);

enum class Reduce { Sum, Max, Min };
/// Reduces over `axes` (sorted, unique, in range). Max/Min need a nonempty slice.
Tensor reduce(Reduce op, const Tensor& x, const Dims& axes, bool keepdims);

/// Materialises x broadcast to `shape` (already checked compatible).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Copies x with its axes permuted: out.shape[i] = x.shape[perm[i]].
Tensor transpose(const Tensor& x, const Dims& perm);
/// out[i] = x[start + i * step] on every axis, out of shape `out_shape`.
Tensor slice(const Tensor& x, const Dims& starts, const Dims& steps, const Shape& out_shape);
/// The adjoint of slice: zeros of `x_shape` with g written at the sliced positions.
Tensor slice_backward(const Tensor& g, const Shape& x_shape, const Dims& starts, const Dims& steps);
/// numpy.take along `axis` with indices already in [0, dim).
Tensor take(const Tensor& x, const std::vector<std::int64_t>& indices, const Shape& indices_shape,
            std::int64_t axis);
/// The adjoint of take: zeros of `x_shape` with g added at the taken positions.
Tensor take_backward(const Tensor& g, const Shape& x_shape, const std::vector<std::int64_t>& indices,
                     std::int64_t axis);
/// Joins tensors (same dtype, shapes equal but on `axis`) along `axis`.
Tensor concatenate(const std::vector<Tensor>& xs, std::int64_t axis);

/// Batched matrix product of op(x) and op(y), op = transpose of the last two axes
/// when the flag is set. x and y have ndim >= 2, batch dimensions broadcast.
Tensor matmul(const Tensor& x, const Tensor& y, bool transpose_x, bool transpose_y);

/// NumPy's broadcast shape of a and b, or std::invalid_argument naming `op`.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

}  // namespace eigengrad::kernels
