// Helpers shared by the op families: axis normalisation, dtype promotion, and the
// shape bookkeeping of reductions. Errors name the op that called them.
#pragma once

#include <string>
#include <utility>

#include "eigengrad/monitor.h"
#include "eigengrad/ops.h"
#include "../kernels/kernels.h"

namespace eigengrad::detail {

/// `axis` in [-ndim, ndim) mapped to [0, ndim), or AxisError naming `op`.
std::int64_t normalize_axis(const char* op, std::int64_t axis, std::int64_t ndim);
/// Sorted, unique axes in [0, ndim); all axes when `axes` is empty. Duplicates raise.
Dims normalize_axes(const char* op, const Axes& axes, std::int64_t ndim);
/// x's shape with the reduced `axes` kept as size 1.
Shape keepdims_shape(const Shape& shape, const Dims& axes);
/// x and y converted to their common dtype (a differentiable cast where needed).
std::pair<Variable, Variable> promote_pair(const Variable& x, const Variable& y);
/// x - m and log(sum(exp(x - m))) over `axes` (kept as size 1), m the max over
/// `axes` (0 where it is not finite). Their sum is logsumexp(x); keeping them apart
/// lets log_softmax = (x - m) - log(sum(exp(x - m))) avoid cancelling large values.
std::pair<Tensor, Tensor> shifted_logsumexp(const Tensor& x, const Dims& axes);
/// log(sum(exp(x))) over `axes` with the reduced axes kept, finite for large |x|.
Tensor logsumexp_tensor(const Tensor& x, const Dims& axes);
/// A rule's product of a cotangent or tangent `g` and a local derivative `d`: with
/// strong zero on, 0 where g == 0 even where d is inf or NaN (the op "strong_mul",
/// differentiable to any order); off, exactly mul(g, d). Note [Strong zero] in
/// kernels/strong_zero.h.
Variable strong_mul(const Variable& g, const Variable& d);
/// g / d in a rule, the same way ("strong_div"; off, exactly div(g, d)).
Variable strong_div(const Variable& g, const Variable& d);
/// A cotangent or tangent `g` times a constant mask or weights `w` (finite): exactly
/// 0 where w == 0, even where g is inf or NaN (the input not selected by maximum,
/// clip or relu is not connected; PyTorch's masked_fill), in both modes.
Variable masked_mul(const Variable& w, const Variable& g);
/// A Variable that is not part of any graph (masks, counts).
inline Variable constant(Tensor t) { return Variable(std::move(t)); }

/// Records an op like eigengrad::record, but builds the rules (std::function, with
/// their captures) only when reverse or forward mode needs them: the hot path of an
/// op on plain values allocates nothing for autodiff.
template <class Vjp, class Jvp>
Variable record_op(const char* name, const Tensor& out, std::initializer_list<Variable> inputs, Vjp&& vjp,
                   Jvp&& jvp, bool save_out = false) {
  bool grad = false, fwd = false;
  if (grad_enabled())
    for (const Variable& x : inputs) grad = grad || x.requires_grad();
  if (forward_levels_open())
    for (const Variable& x : inputs) fwd = fwd || !x.impl()->tangents.empty();
  if (!grad && !fwd) {
    if (!grad_enabled()) note_reads(inputs.begin(), inputs.size());
    if (GradMonitor* monitor = detail::active_monitor()) monitor->on_recorded(name, out, nullptr);
    return Variable(out);
  }
  return record(name, out, inputs, grad ? BackwardFn(std::forward<Vjp>(vjp)) : BackwardFn(),
                fwd ? JvpFn(std::forward<Jvp>(jvp)) : JvpFn(), save_out);
}

/// Whether a backward rule may take a fused (not differentiable) kernel: no graph is
/// recorded (no create_graph), no forward level is open (no tangents to carry:
/// forward over reverse) and the cotangent has no batch dimensions. The fused
/// result is then a constant nobody differentiates.
inline bool fused_backward(const BackwardArgs& a) {
  return a.lead == 0 && !grad_enabled() && !forward_levels_open();
}

// ---- batch dimensions -------------------------------------------------------------
// Cotangents and tangents may carry `lead` batch dimensions in front of the shape of
// the value they belong to. These helpers are the one place that knows how such a
// batch meets broadcasting.

/// `lead_shape` followed by `shape`.
Shape prefixed(const Shape& lead_shape, const Shape& shape);
/// Cotangent `g` (lead dims + a broadcast shape) summed down to lead dims + `shape`:
/// the VJP of broadcasting.
Variable unbroadcast(const Variable& g, const Shape& shape, std::size_t lead);

/// x with its last two axes swapped (a matrix transpose over any batch axes).
Variable swap_last(const Variable& x);
/// Tangent `t` (lead dims + x_shape) with size-1 axes inserted after the lead dims so
/// that it right-aligns with values of `out_ndim` dimensions.
Variable align(const Variable& t, const Shape& x_shape, std::size_t out_ndim);
/// A normalised axis of an `ndim`-d value, counted from the right (so it still
/// names the same axis when batch dimensions are in front).
inline std::int64_t from_right(std::int64_t axis, std::int64_t ndim) { return axis - ndim; }
Dims from_right(const Dims& axes, std::int64_t ndim);

}  // namespace eigengrad::detail
