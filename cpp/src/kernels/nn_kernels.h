// Fused kernels of the neural-network ops (../ops/nn.cpp) and the optimizers
// (../optim.cpp). Like kernels.h: no autodiff, no validation, one dtype per call.
#pragma once

#include <cstdint>
#include <vector>

#include "eigengrad/tensor.h"

namespace eigengrad::kernels {

/// x (rows, in) times W (out, in) transposed, plus b (out,) on every row when b is
/// defined: the (rows, out) result of a linear layer.
Tensor linear(const Tensor& x, const Tensor& W, const Tensor& b);

/// Row-wise softmax cross-entropy of logits (rows, C) against labels in [0, C):
/// returns the per-row losses (rows,) and fills `probs` (rows, C) with the softmax.
Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& labels, Tensor& probs);

/// (probs - onehot(labels)) * scale_i per row, scale_i = scale[i] when `scale` has
/// one entry per row, else its single entry. `strong`: a row with scale_i == 0 is 0
/// (Note [Strong zero] in strong_zero.h).
Tensor cross_entropy_backward(const Tensor& probs, const std::vector<std::int64_t>& labels,
                              const Tensor& scale, bool strong);

/// max(x, 0) - x y + log1p(exp(-|x|)) element-wise (x, y of one shape).
Tensor bce_with_logits(const Tensor& x, const Tensor& y);

/// (sigmoid(x) - y) * scale element-wise; `scale` has x's size or a single entry.
/// `strong`: the product is strong_mul(scale, sigmoid(x) - y).
Tensor bce_with_logits_backward(const Tensor& x, const Tensor& y, const Tensor& scale, bool strong);

/// The sum of all elements times `factor`, as a 0-d tensor.
Tensor scaled_total(const Tensor& x, double factor);

}  // namespace eigengrad::kernels
