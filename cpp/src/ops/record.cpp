// Recording an op: the node of its backward rule (when an input requires grad) and
// the output's tangents at the open forward levels (when an input carries one).
// Every op goes through record(), usually by record_op (common.h).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "../forward_levels.h"
#include "eigengrad/monitor.h"
#include "eigengrad/ops.h"

namespace eigengrad {

namespace {
void attach_tangents(const char* name, const Variable& result, VariableSpan inputs,
                     const JvpFn& jvp) {
  const std::size_t visible = detail::visible_level_count();
  for (std::size_t k = 0; k < visible; ++k) {
    const std::uint64_t level = detail::open_level(k);
    std::vector<Variable> tangents(inputs.size());
    const Variable* first = nullptr;
    std::size_t lead = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      tangents[i] = detail::find_tangent(inputs[i], level);
      if (!tangents[i].defined()) continue;
      std::size_t l = detail::tangent_lead(name, inputs[i], tangents[i]);
      if (first && (l != lead || !std::equal(first->shape().begin(), first->shape().begin() + lead,
                                             tangents[i].shape().begin())))
        throw std::invalid_argument(std::string(name) + ": tangents of shapes " + shape_str(first->shape()) +
                                    " and " + shape_str(tangents[i].shape()) +
                                    " have different batch dimensions");
      if (!first) first = &tangents[i];
      lead = l;
    }
    if (!first) continue;
    if (!jvp)
      throw std::runtime_error(std::string(name) + ": no forward-mode (JVP) rule for this op");
    // The rule sees the output through a handle of its own (same values, same node,
    // the outer levels' tangents so far): a rule using `out` then captures that
    // handle, not the result's, and the result's tangent does not keep the result
    // alive in a cycle (Note [Forward over reverse]).
    Variable out = result.grad_fn() ? make_result(result.data(), result.grad_fn()) : Variable(result.data());
    out.impl()->tangents = result.impl()->tangents;
    detail::VisibleLevels only_outer(k);
    Variable tout = jvp(JvpArgs{tangents, out, lead});
    if (!tout.defined()) continue;
    // Reconcile in one place: the tangent has the output's dtype, and its shape is
    // the batch dimensions followed by the output's shape (a rule may return a
    // tangent that still broadcasts to it, e.g. when only one operand has a tangent).
    Shape want(first->shape().begin(), first->shape().begin() + lead);
    want.insert(want.end(), result.shape().begin(), result.shape().end());
    if (tout.dtype() != result.dtype()) tout = astype(tout, result.dtype());
    if (tout.shape() != want) tout = broadcast_to(tout, want);
    detail::set_tangent(result, level, std::move(tout));
  }
}
}  // namespace

// Note [Read recorder]
// eg.checkpoint runs a function without recording and must still learn which
// Variables that require grad it read (the parameters it closes over become inputs
// of its node). Every op that records nothing passes its inputs here; with no
// recorder alive on the thread that is one thread-local load.
namespace {
thread_local ReadRecorder* tls_read_recorder = nullptr;
}  // namespace

ReadRecorder::ReadRecorder() : previous_(tls_read_recorder) { tls_read_recorder = this; }

ReadRecorder::~ReadRecorder() { tls_read_recorder = previous_; }

void detail::note_reads(const Variable* first, std::size_t n) {
  ReadRecorder* recorder = tls_read_recorder;
  if (!recorder) return;
  for (std::size_t i = 0; i < n; ++i) {
    const Variable& x = first[i];
    if (!x.defined() || !x.requires_grad()) continue;
    auto& reads = recorder->reads_;
    if (std::none_of(reads.begin(), reads.end(), [&](const Variable& r) { return r.impl() == x.impl(); }))
      reads.push_back(x);
  }
}

Variable record(const char* name, const Tensor& out, VariableSpan inputs,
                BackwardFn vjp, JvpFn jvp, bool save_out, bool builtin) {
  bool any = false;
  if (grad_enabled())
    for (const Variable& x : inputs) any = any || x.requires_grad();
  Variable result;
  if (any) {
    if (!vjp) {
      std::size_t i = 0;
      while (!inputs[i].requires_grad()) ++i;
      throw std::runtime_error(std::string(name) + ": no reverse-mode (VJP) rule; input " +
                               std::to_string(i) + " requires grad");
    }
    if (builtin) detail::check_saved_reads_table(name, vjp, inputs);
    NodeEdges next(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].requires_grad()) next[i] = inputs[i].gradient_edge();
    auto node = std::make_shared<FunctionNode>(name, std::move(next), std::move(vjp),
                                               save_out ? out : Tensor(),
                                               static_cast<std::size_t>(out.ndim()));
    node->save_input_versions(inputs, builtin);
    if (GradMonitor* monitor = detail::active_monitor()) monitor->on_recorded(name, out, node.get());
    result = make_result(out, node);
    if (needs_tangent(inputs)) {
      attach_tangents(name, result, inputs, jvp);
      if (save_out && !result.impl()->tangents.empty()) {
        node->save_out_tangents(result.impl()->tangents);
        detail::register_saved_tangents(node, result.impl()->tangents);
      }
    }
    return result;
  }
  if (!grad_enabled()) detail::note_reads(inputs.data(), inputs.size());
  if (GradMonitor* monitor = detail::active_monitor()) monitor->on_recorded(name, out, nullptr);
  result = Variable(out);
  if (needs_tangent(inputs)) attach_tangents(name, result, inputs, jvp);
  return result;
}


}  // namespace eigengrad
