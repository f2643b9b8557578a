// eg.grad_monitor's collector: what the engine and record() report while a monitor
// is active on the thread (see GradMonitor in eigengrad/monitor.h).
#include "eigengrad/monitor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "dispatch.h"
#include "kernels/monitor_stats.h"

namespace eigengrad {

namespace {
thread_local GradMonitor* tls_monitor = nullptr;

/// Below this local derivative a sigmoid or tanh unit counts as saturated.
constexpr double kSaturated = 1e-3;

bool nonfinite(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return false;
  return dispatch(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return kernels::any_nonfinite(t.data_as<T>(), t.numel());
  });
}
}  // namespace

GradMonitor* detail::active_monitor() { return tls_monitor; }

GradMonitor::GradMonitor(LineSource line_source) : line_source_(std::move(line_source)) {}

GradMonitor::~GradMonitor() {
  if (tls_monitor == this) tls_monitor = nullptr;
}

void GradMonitor::start() {
  if (tls_monitor)
    throw std::runtime_error(tls_monitor == this
                                 ? "grad_monitor: this monitor is already active"
                                 : "grad_monitor: another monitor is already active on this thread "
                                   "(monitors do not nest; stop the outer one first)");
  if (started_)
    throw std::runtime_error("grad_monitor: this monitor is active on another thread");
  started_ = true;
  tls_monitor = this;
}

void GradMonitor::stop() {
  if (tls_monitor != this)
    throw std::runtime_error("grad_monitor: stop() without start() on this thread");
  tls_monitor = nullptr;
  started_ = false;
}

bool GradMonitor::active() const { return tls_monitor == this; }

void GradMonitor::name_parameter(const Variable& parameter, const std::string& name) {
  if (!parameter.defined() || !parameter.is_leaf() || !parameter.requires_grad())
    throw std::invalid_argument("grad_monitor: parameter '" + name +
                                "' is not a leaf Variable that requires grad");
  names_[parameter.impl().get()] = name;
}

std::vector<GradMonitor::Activation> GradMonitor::activations() const {
  return std::vector<Activation>(activations_.rbegin(), activations_.rend());
}

void GradMonitor::begin_pass() {
  ++passes_;
  ++in_backward_;
  parameters_.clear();
  slot_.clear();
  activations_.clear();
}

// Ops run inside backward rules are not the forward: their non-finite values are
// caught as the rule's cotangents (on_cotangents).
void GradMonitor::on_recorded(const char* op, const Tensor& out, Node* node) {
  if (in_backward_ > 0) return;
  if (node && line_source_) node->set_created_at(line_source_());
  if (forward_.found || !nonfinite(out)) return;
  forward_.found = true;
  forward_.op = op;
  if (node && node->created_at()) {
    forward_.where = *node->created_at();
  } else if (line_source_) {
    if (auto where = line_source_()) forward_.where = *where;
  }
}

namespace {
std::string where_of(const Node& node) { return node.created_at() ? *node.created_at() : std::string(); }
}  // namespace

void GradMonitor::on_node(const Node& node) {
  const char* name = node.name();
  const bool relu = std::strcmp(name, "relu") == 0, tanh = std::strcmp(name, "tanh") == 0;
  if (!relu && !tanh && std::strcmp(name, "sigmoid") != 0) return;
  const auto* fn = dynamic_cast<const FunctionNode*>(&node);
  if (!fn) return;
  const Tensor out = fn->saved_out();
  if (!out.defined() || out.numel() == 0) return;
  Activation a{name, out.shape(), 0, 0, where_of(node)};
  const double n = static_cast<double>(out.numel());
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (relu)
      a.dead = kernels::count_zero(out.data_as<T>(), out.numel()) / n;
    else
      a.saturated = kernels::count_saturated(out.data_as<T>(), out.numel(), tanh, kSaturated) / n;
  });
  activations_.push_back(std::move(a));
}

void GradMonitor::on_cotangents(const Node& node, const std::vector<Variable>& grads) {
  if (backward_.found) return;
  for (const Variable& g : grads)
    if (g.defined() && nonfinite(g.data())) {
      backward_.found = true;
      backward_.op = node.name();
      backward_.where = where_of(node);
      return;
    }
}

void GradMonitor::on_accumulated(const VariableImpl& leaf, const Tensor& grad) {
  auto [it, fresh] = slot_.emplace(&leaf, parameters_.size());
  if (fresh) {
    auto name = names_.find(&leaf);
    if (name == names_.end())
      name = names_.emplace(&leaf, "#" + std::to_string(unnamed_++)).first;
    parameters_.push_back(Parameter{name->second, &leaf, grad.shape(), 0, 0});
  }
  Parameter& p = parameters_[it->second];
  const kernels::NormStats s = grad.numel() == 0 ? kernels::NormStats{}
                                                 : dispatch(grad.dtype(), [&](auto tag) {
                                                     using T = typename decltype(tag)::type;
                                                     return kernels::norm_stats(grad.data_as<T>(), grad.numel());
                                                   });
  p.norm = std::sqrt(s.sumsq);
  p.max_abs = s.max_abs;
}

}  // namespace eigengrad
