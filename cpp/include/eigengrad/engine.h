// eigengrad: the reverse-mode engine.
#pragma once

#include <optional>
#include <vector>

#include "eigengrad/variable.h"

namespace eigengrad {

/// Backpropagates from `outputs`, seeded with `grad_outputs` (undefined entries mean
/// 1 for single-element outputs), and accumulates into the `.grad` of every leaf that
/// requires grad. Iterative: the graph may be arbitrarily deep. `retain_graph`
/// (keep saved values for another backward) defaults to `create_graph`.
void backward(VariableSpan outputs, VariableSpan grad_outputs, std::optional<bool> retain_graph = std::nullopt,
              bool create_graph = false);

/// The gradients of `outputs` (seeded with `grad_outputs`) with respect to `inputs`,
/// one per input, shaped like it; `.grad` fields are left untouched. Only the part
/// of the graph between them runs. An input the outputs do not depend on raises
/// RuntimeError unless `allow_unused`, when its entry is undefined.
/// With `create_graph`, the gradients are themselves differentiable; `retain_graph`
/// defaults to `create_graph`. With `is_grads_batched`, every grad_output has one
/// leading batch dimension (B cotangents at once) and so does every gradient: B
/// vector-Jacobian products in one backward pass. With `create_graph_if_outer` (what
/// the function transforms use), a pass without `create_graph` is recorded anyway
/// when the graph reaches a leaf that requires grad other than `inputs`, so that
/// the gradients stay differentiable in the values they read (Note [Outer leaves]
/// in engine.cpp); `retain_graph` then defaults to true as well.
/// The gradients never share a buffer with each other or with a grad_output.
std::vector<Variable> grad(VariableSpan outputs, VariableSpan inputs, VariableSpan grad_outputs = {},
                           std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                           bool allow_unused = false, bool is_grads_batched = false,
                           bool create_graph_if_outer = false);

namespace detail {
/// Installs `check`, which every backward pass calls every 256 nodes from the thread
/// running it, so that an embedding can notice an interrupt (Ctrl-C): it may throw to
/// abandon the pass, leaving the graph as a failed rule would. Null uninstalls it.
void set_interrupt_check(void (*check)());
}  // namespace detail

}  // namespace eigengrad
