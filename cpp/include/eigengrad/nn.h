// eigengrad: fused neural-network ops (a linear layer and the losses).
//
// Each is one differentiable op with a fused forward kernel. Their backward rules
// take a fused fast path when no graph is being recorded (a plain backward) and
// are written with the differentiable ops of ops.h otherwise (create_graph=True),
// so gradients of gradients stay exact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eigengrad/variable.h"

namespace eigengrad {

/// How a loss combines its per-element values.
enum class Reduction : std::uint8_t {
  None,  ///< one value per element (per sample for cross_entropy)
  Mean,  ///< their mean (NaN over no elements, as NumPy's mean)
  Sum,   ///< their sum
};

/// "none", "mean" or "sum" as a Reduction; anything else is a ValueError naming `op`.
Reduction parse_reduction(const std::string& name, const char* op);

/// y = x W^T + b, the affine map of a layer with `W` of shape (out, in) (the source
/// text's y = W x + b applied to each row of x).
///   x: (..., in), any number of leading dimensions (1-D: a single row);
///   W: (out, in); b: (out,) or undefined (no bias). Result: (..., out).
/// The dtypes promote as in matmul. Shapes that do not fit are a ValueError.
Variable linear(const Variable& x, const Variable& W, const Variable& b = Variable());

/// Mean squared error: (x - y)^2 reduced; x and y must have the same shape.
Variable mse_loss(const Variable& x, const Variable& y, Reduction reduction = Reduction::Mean);

/// Softmax cross-entropy with integer class labels, fused and stable:
///   loss_i = logsumexp(logits_i) - logits_i[labels_i]
/// finite for logits of any finite magnitude (+-1000 included).
///   logits: (N, C) with `labels` of N entries, or (C,) with one label.
///   labels: integers in [0, C) (ValueError otherwise, naming the bad label).
/// Gradient: (softmax(logits) - onehot(labels)) times the output cotangent.
Variable cross_entropy(const Variable& logits, const std::vector<std::int64_t>& labels,
                       Reduction reduction = Reduction::Mean);

/// Binary cross-entropy on logits x with targets y in [0, 1] (same shape), stable:
///   loss = max(x, 0) - x y + log(1 + e^-|x|)  ( = -y log s(x) - (1-y) log(1 - s(x)) )
/// Gradients: d/dx = sigmoid(x) - y, d/dy = -x (exact at x = 0 too).
Variable binary_cross_entropy_with_logits(const Variable& x, const Variable& y,
                                          Reduction reduction = Reduction::Mean);

}  // namespace eigengrad
