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
  Leaf& leaf = leaf_entry(parameter.impl().get());
  leaf.name = name;
  leaf.named = true;
}

GradMonitor::Leaf& GradMonitor::leaf_entry(const VariableImpl* key) {
  if (leaves_.size() <= kIndexedLeaves) {
    for (Leaf& leaf : leaves_)
      if (leaf.key == key) return leaf;
  } else if (auto it = leaf_index_.find(key); it != leaf_index_.end()) {
    return leaves_[it->second];
  }
  if (leaves_.empty()) leaves_.reserve(16);
  leaves_.push_back(Leaf{key});
  if (leaves_.size() > kIndexedLeaves) {
    if (leaf_index_.empty())
      for (std::size_t i = 0; i < leaves_.size(); ++i) leaf_index_.emplace(leaves_[i].key, i);
    else
      leaf_index_.emplace(key, leaves_.size() - 1);
  }
  return leaves_.back();
}

std::vector<GradMonitor::Parameter> GradMonitor::parameters() const {
  std::vector<Parameter> rows;
  rows.reserve(rows_.size());
  for (const Row& r : rows_) {
    const Leaf& leaf = leaves_[r.leaf];
    const auto dims = dims_.begin() + static_cast<std::ptrdiff_t>(r.dims);
    rows.push_back(Parameter{leaf.named ? leaf.name : "#" + std::to_string(leaf.number), leaf.key,
                             Shape(dims, dims + static_cast<std::ptrdiff_t>(r.ndim)), r.norm, r.max_abs});
  }
  return rows;
}

std::vector<GradMonitor::Activation> GradMonitor::activations() const {
  return std::vector<Activation>(activations_.rbegin(), activations_.rend());
}

void GradMonitor::begin_pass() {
  ++passes_;
  ++in_backward_;
  rows_.clear();
  dims_.clear();
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

/// The activation `name` names ("relu", "sigmoid", "tanh"), or null. Called for every
/// node of a monitored backward pass: one compare of the first letter for most.
const char* activation_name(const char* name) {
  const char* a = name[0] == 'r' ? "relu" : name[0] == 's' ? "sigmoid" : name[0] == 't' ? "tanh" : nullptr;
  return a && std::strcmp(name, a) == 0 ? a : nullptr;
}
}  // namespace

void GradMonitor::on_node(const Node& node) {
  const char* name = activation_name(node.name());
  if (!name) return;
  const bool relu = name[0] == 'r', tanh = name[0] == 't';
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
  if (activations_.empty()) activations_.reserve(8);
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
  Leaf& entry = leaf_entry(&leaf);
  if (!entry.named && entry.number < 0) entry.number = unnamed_++;
  if (entry.pass != passes_) {
    entry.pass = passes_;
    entry.row = rows_.size();
    if (rows_.empty()) {
      rows_.reserve(16);
      dims_.reserve(64);
    }
    const Shape& shape = grad.shape();
    rows_.push_back(Row{static_cast<std::size_t>(&entry - leaves_.data()), dims_.size(), shape.size(), 0, 0});
    dims_.insert(dims_.end(), shape.begin(), shape.end());
  }
  Row& p = rows_[entry.row];
  const kernels::NormStats s = grad.numel() == 0 ? kernels::NormStats{}
                                                 : dispatch(grad.dtype(), [&](auto tag) {
                                                     using T = typename decltype(tag)::type;
                                                     return kernels::norm_stats(grad.data_as<T>(), grad.numel());
                                                   });
  p.norm = std::sqrt(s.sumsq);
  p.max_abs = s.max_abs;
}

}  // namespace eigengrad
