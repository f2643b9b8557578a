// Helpers for ops that work along one axis. The axis may be counted from the right
// (negative), so that a rule applies them to cotangents and tangents with batch
// dimensions in front.
#pragma once

#include "common.h"

namespace eigengrad::detail {

/// v[..., start:stop, ...] on `axis` (0 <= start <= stop <= v.shape[axis]).
Variable narrow(const Variable& v, std::int64_t axis, std::int64_t start, std::int64_t stop);

/// v moved by one place along `axis`, the value `fill` entering at the vacated end:
/// out[i] = v[i-1] (`toward_end`) or out[i] = v[i+1]. Differentiable (slices and a
/// concatenation).
Variable shift_one(const Variable& v, std::int64_t axis, bool toward_end, double fill);

/// The number of elements of `shape` over `axes` (as a double: a divisor).
double count_over(const Shape& shape, const Dims& axes);

}  // namespace eigengrad::detail
