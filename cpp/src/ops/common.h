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
/// log(sum(exp(x))) over `axes` with the reduced axes kept, shifted by the max
/// (0 where the max is not finite) so it is finite for large |x|.
Tensor logsumexp_tensor(const Tensor& x, const std::vector<std::int64_t>& axes);
/// A Variable that is not part of any graph (masks, counts).
inline Variable constant(Tensor t) { return Variable(std::move(t)); }

}  // namespace eigengrad::detail
