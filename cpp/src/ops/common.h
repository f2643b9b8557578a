// Helpers shared by the op families: axis normalisation, dtype promotion, and the
// shape bookkeeping of reductions. Errors name the op that called them.
#pragma once

#include <string>
#include <utility>

#include "eigengrad/ops.h"
#include "../kernels/kernels.h"

namespace eigengrad::detail {

/// `axis` in [-ndim, ndim) mapped to [0, ndim), or AxisError naming `op`.
std::int64_t normalize_axis(const char* op, std::int64_t axis, std::int64_t ndim);
/// Sorted, unique axes in [0, ndim); all axes when `axes` is empty. Duplicates raise.
std::vector<std::int64_t> normalize_axes(const char* op, const Axes& axes, std::int64_t ndim);
/// x's shape with the reduced `axes` kept as size 1.
Shape keepdims_shape(const Shape& shape, const std::vector<std::int64_t>& axes);
/// x and y converted to their common dtype (a differentiable cast where needed).
std::pair<Variable, Variable> promote_pair(const Variable& x, const Variable& y);
/// x - m and log(sum(exp(x - m))) over `axes` (kept as size 1), m the max over
/// `axes` (0 where it is not finite). Their sum is logsumexp(x); keeping them apart
/// lets log_softmax = (x - m) - log(sum(exp(x - m))) avoid cancelling large values.
std::pair<Tensor, Tensor> shifted_logsumexp(const Tensor& x, const std::vector<std::int64_t>& axes);
/// log(sum(exp(x))) over `axes` with the reduced axes kept, finite for large |x|.
Tensor logsumexp_tensor(const Tensor& x, const std::vector<std::int64_t>& axes);
/// A Variable that is not part of any graph (masks, counts).
inline Variable constant(Tensor t) { return Variable(std::move(t)); }

}  // namespace eigengrad::detail
