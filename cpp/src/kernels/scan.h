// Scans along one axis (cumulative sums and products, linear recurrences) and the
// orderings behind argsort, argmax and argmin. Plain loops in a fixed order: see
// Note [Scan order] in scan.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "eigengrad/tensor.h"

namespace eigengrad::kernels {

enum class Scan { Sum, Prod };
/// Inclusive scan along `axis`: out[i] = x[0] op x[1] op ... op x[i], or from the
/// end (out[i] = x[i] op ... op x[n-1]) when `reverse`.
Tensor scan(Scan op, const Tensor& x, std::int64_t axis, bool reverse);

/// The linear recurrence h[i] = g[i] + a[i] * h[i-1] along `axis` (h[-1] = 0), or
/// h[i] = g[i] + a[i] * h[i+1] when `reverse`. g and a have one shape and dtype.
/// `strong`: a[i] * h is 0 where h == 0, even where a[i] is inf or NaN (the strong
/// zero of the rules that use it, Note [Strong zero] in strong_zero.h).
Tensor linrec(const Tensor& g, const Tensor& a, std::int64_t axis, bool reverse, bool strong);

/// For every slice along `axis`, the positions that sort it: stable (equal values
/// keep their order), NaN last, as numpy.argsort(kind="stable"). Same shape as x.
std::vector<std::int64_t> argsort(const Tensor& x, std::int64_t axis);

/// For every slice along `axis` (nonempty), the position of its first maximum
/// (`max`) or first minimum, or of its first NaN if it holds one (numpy.argmax,
/// numpy.argmin). x's shape without `axis`, row-major.
std::vector<std::int64_t> argextremum(const Tensor& x, std::int64_t axis, bool max);

}  // namespace eigengrad::kernels
