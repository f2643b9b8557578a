#include "eigengrad/variable.h"

#include <algorithm>
#include <atomic>

#include "eigengrad/engine.h"
#include "eigengrad/ops.h"

namespace eigengrad {

// ---- grad mode ----------------------------------------------------------------

namespace {
thread_local bool tls_grad_enabled = true;
}

bool grad_enabled() { return tls_grad_enabled; }
void set_grad_enabled(bool enabled) { tls_grad_enabled = enabled; }

// ---- forward levels -----------------------------------------------------------------

// Note [Forward levels]
// Each ForwardLevel has a unique id; the open ones form a per-thread stack, outermost
// first. An op whose inputs carry tangents at open levels computes one output tangent
// per level, outermost first, with its JVP rule. While the rule for the level at
// stack position k runs, only positions [0, k) are visible: the ops inside the rule
// then carry the outer tangents (forward over forward gives second derivatives) but
// never a tangent of the level being computed (no perturbation confusion). Tangents
// are ordinary Variables, so reverse mode through them works too.

namespace {
std::atomic<std::uint64_t> next_level_id{1};
thread_local std::vector<std::uint64_t> tls_levels;
thread_local std::size_t tls_visible = 0;

class VisibleLevels {
 public:
  explicit VisibleLevels(std::size_t count) : previous_(tls_visible) { tls_visible = count; }
  ~VisibleLevels() { tls_visible = previous_; }

 private:
  std::size_t previous_;
};

Variable find_tangent(const Variable& x, std::uint64_t level) {
  for (const auto& [id, t] : x.impl()->tangents)
    if (id == level) return t;
  return Variable();
}

void set_tangent(const Variable& x, std::uint64_t level, Variable t) {
  for (auto& [id, old] : x.impl()->tangents)
    if (id == level) {
      old = std::move(t);
      return;
    }
  x.impl()->tangents.emplace_back(level, std::move(t));
}

/// The leading batch dimensions of tangent `t` of input `x`, or ValueError.
std::size_t tangent_lead(const char* op, const Variable& x, const Variable& t) {
  const Shape& xs = x.shape();
  const Shape& ts = t.shape();
  if (ts.size() < xs.size() || !std::equal(xs.begin(), xs.end(), ts.end() - xs.size()))
    throw std::invalid_argument(std::string(op) + ": tangent of shape " + shape_str(ts) +
                                " does not end with its primal's shape " + shape_str(xs));
  return ts.size() - xs.size();
}

void attach_tangents(const char* name, const Variable& result, const std::vector<Variable>& inputs,
                     const JvpFn& jvp) {
  const std::size_t visible = std::min(tls_visible, tls_levels.size());
  for (std::size_t k = 0; k < visible; ++k) {
    const std::uint64_t level = tls_levels[k];
    std::vector<Variable> tangents(inputs.size());
    const Variable* first = nullptr;
    std::size_t lead = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      tangents[i] = find_tangent(inputs[i], level);
      if (!tangents[i].defined()) continue;
      std::size_t l = tangent_lead(name, inputs[i], tangents[i]);
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
    VisibleLevels only_outer(k);
    Variable tout = jvp(JvpArgs{tangents, result, lead});
    if (!tout.defined()) continue;
    // Reconcile in one place: the tangent has the output's dtype, and its shape is
    // the batch dimensions followed by the output's shape (a rule may return a
    // tangent that still broadcasts to it, e.g. when only one operand has a tangent).
    Shape want(first->shape().begin(), first->shape().begin() + lead);
    want.insert(want.end(), result.shape().begin(), result.shape().end());
    if (tout.dtype() != result.dtype()) tout = astype(tout, result.dtype());
    if (tout.shape() != want) tout = broadcast_to(tout, want);
    set_tangent(result, level, std::move(tout));
  }
}
}  // namespace

// Note [Forward over reverse]
// A backward rule that uses the op's output (exp: gx = gout * out) must see the
// output's tangents when the backward pass itself runs under forward mode (a
// Hessian-vector product as jvp of grad). The node saves the tangents with the
// output's values. A tangent may itself be recorded for reverse mode and so refer
// back to this node: that reference cycle lasts until the node is released, which
// every backward through it does (unless retain_graph).

Shape JvpArgs::lead_shape() const {
  for (const Variable& t : tangents)
    if (t.defined()) return Shape(t.shape().begin(), t.shape().begin() + lead);
  return Shape();
}

ForwardLevel::ForwardLevel() : id_(next_level_id++) {
  tls_levels.push_back(id_);
  tls_visible = tls_levels.size();
}

ForwardLevel::~ForwardLevel() {
  for (std::size_t i = tls_levels.size(); i-- > 0;)
    if (tls_levels[i] == id_) {
      tls_levels.erase(tls_levels.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  tls_visible = tls_levels.size();
}

bool forward_levels_open() { return tls_visible > 0 && !tls_levels.empty(); }

bool needs_tangent(const std::vector<Variable>& inputs) {
  if (tls_visible == 0 || tls_levels.empty()) return false;
  for (const Variable& x : inputs)
    if (!x.impl()->tangents.empty()) return true;
  return false;
}

Variable make_dual(const Variable& primal, const Variable& tangent, const ForwardLevel& level) {
  Variable t = tangent.dtype() == primal.dtype() ? tangent : astype(tangent, primal.dtype());
  tangent_lead("make_dual", primal, t);
  Variable dual = alias(primal);
  set_tangent(dual, level.id(), std::move(t));
  return dual;
}

Variable tangent(const Variable& x, const ForwardLevel& level) { return find_tangent(x, level.id()); }

Variable grad_input(const Variable& x) {
  if (x.requires_grad()) return alias(x);
  Variable leaf(x.data(), true);
  leaf.impl()->tangents = x.impl()->tangents;
  return leaf;
}

// ---- Variable -----------------------------------------------------------------

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  if (!data.defined()) throw std::invalid_argument("Variable: undefined tensor");
  impl_->data = std::move(data);
  impl_->requires_grad = requires_grad;
}

Variable make_result(Tensor data, std::shared_ptr<Node> grad_fn) {
  Variable v(std::move(data));
  v.impl_->requires_grad = true;
  v.impl_->grad_fn = std::move(grad_fn);
  return v;
}

namespace {
const VariableImpl& checked(const std::shared_ptr<VariableImpl>& impl) {
  if (!impl) throw std::invalid_argument("use of an undefined Variable");
  return *impl;
}
}  // namespace

const Tensor& Variable::data() const { return checked(impl_).data; }
bool Variable::requires_grad() const { return checked(impl_).requires_grad; }
bool Variable::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
const std::shared_ptr<Node>& Variable::grad_fn() const { return checked(impl_).grad_fn; }
Variable Variable::grad() const { return checked(impl_).grad; }

void Variable::set_requires_grad(bool requires_grad) {
  if (!is_leaf())
    throw std::runtime_error(
        "requires_grad: only leaf Variables can change it; use detach() to make a leaf");
  impl_->requires_grad = requires_grad;
}

void Variable::set_grad(const Variable& grad) {
  checked(impl_);
  if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
    throw std::invalid_argument("grad: assigned gradient has shape " + shape_str(grad.shape()) +
                                " and dtype " + dtype_name(grad.dtype()) + ", the Variable has " +
                                shape_str(shape()) + " and " + dtype_name(dtype()));
  impl_->grad = grad;
}

void Variable::backward(const Variable& grad, std::optional<bool> retain_graph, bool create_graph) const {
  eigengrad::backward({*this}, {grad}, retain_graph, create_graph);
}

Variable Variable::detach() const { return Variable(data()); }

std::shared_ptr<Node> Variable::gradient_edge() const {
  const VariableImpl& impl = checked(impl_);
  if (impl.grad_fn) return impl.grad_fn;
  if (!impl.requires_grad) return nullptr;
  if (!impl.grad_accumulator) impl_->grad_accumulator = std::make_shared<AccumulateGrad>(impl_);
  return impl.grad_accumulator;
}

// ---- Nodes --------------------------------------------------------------------

Node::Node(const char* name, std::vector<std::shared_ptr<Node>> next)
    : name_(name), next_(std::move(next)) {}

// Note [Iterative teardown]
// A graph is a chain of shared_ptr<Node>: destroying the last Variable of a
// 1,000,000-op chain would destroy a million nodes recursively and overflow the
// stack. So a dying node does not let its `next_` die with it: it moves the nodes
// it alone owns onto an explicit stack, and each of those, before being dropped,
// releases its saved values and hands its own sole-owned `next_` to the stack.
// Saved values hold only op inputs (whose nodes are also in `next_`), so releasing
// them never starts a deep destruction of its own. By the time this body runs, a
// derived node's saved values are already gone.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack;
  auto adopt = [&stack](std::vector<std::shared_ptr<Node>>& next) {
    for (auto& edge : next) {
      // Move first: a node that is the child twice (x + x) is counted twice
      // until one of the edges lets go.
      std::shared_ptr<Node> child = std::move(edge);
      if (child && child.use_count() == 1) stack.push_back(std::move(child));
    }
    next.clear();
  };
  adopt(next_);
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    node->release();
    adopt(node->next_);
  }
}

FunctionNode::FunctionNode(const char* name, std::vector<std::shared_ptr<Node>> next,
                           BackwardFn rule, Tensor saved_out, std::size_t out_ndim)
    : Node(name, std::move(next)), rule_(std::move(rule)), saved_out_(std::move(saved_out)),
      out_ndim_(out_ndim) {}

std::vector<Variable> FunctionNode::apply(const Variable& gout, const std::vector<bool>& needs,
                                          bool retain) {
  if (released_)
    throw std::runtime_error(
        std::string(name_) +
        ": trying to backward through the graph a second time (its saved values were freed "
        "after the first backward); pass retain_graph=True to the first backward to keep them");
  if (static_cast<std::size_t>(gout.ndim()) < out_ndim_)
    throw InternalError(std::string(name_) + ": cotangent of shape " + shape_str(gout.shape()) +
                        " has fewer dimensions than the output");
  Variable out;
  if (saved_out_.defined()) {
    out = grad_enabled() ? make_result(saved_out_, shared_from_this()) : Variable(saved_out_);
    out.impl()->tangents = saved_out_tangents_;
  }
  const std::size_t lead = static_cast<std::size_t>(gout.ndim()) - out_ndim_;
  std::vector<Variable> grads = rule_(BackwardArgs{gout, out, needs, lead});
  if (!retain) release();
  return grads;
}

void FunctionNode::release() {
  rule_ = nullptr;
  saved_out_ = Tensor();
  saved_out_tangents_.clear();
  released_ = true;
}

AccumulateGrad::AccumulateGrad(const std::shared_ptr<VariableImpl>& leaf)
    : Node("AccumulateGrad", {}), leaf_(leaf) {}

std::vector<Variable> AccumulateGrad::apply(const Variable& gout, const std::vector<bool>&,
                                            bool) {
  std::shared_ptr<VariableImpl> leaf = leaf_.lock();
  if (!leaf) return {};
  if (gout.shape() != leaf->data.shape() || gout.dtype() != leaf->data.dtype())
    throw InternalError("AccumulateGrad: gradient of shape " + shape_str(gout.shape()) +
                        " for a leaf of shape " + shape_str(leaf->data.shape()));
  if (leaf->grad.defined()) {
    leaf->grad = add(leaf->grad, gout);
  } else if (grad_enabled()) {
    leaf->grad = gout;  // create_graph: keep the gradient's own graph
  } else {
    // The first gradient gets a buffer of its own: the cotangent may be shared with
    // another leaf's gradient (add passes it through), a user's array, or a view.
    const Tensor& g = gout.data();
    bool sole_owner = gout.impl().use_count() == 1 && g.storage().use_count() == 1 &&
                      !g.storage()->borrowed();
    leaf->grad = Variable(sole_owner ? g : g.clone());
  }
  return {};
}

// ---- recording --------------------------------------------------------------------

Variable record(const char* name, const Tensor& out, const std::vector<Variable>& inputs,
                BackwardFn vjp, JvpFn jvp, bool save_out) {
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
    std::vector<std::shared_ptr<Node>> next;
    next.reserve(inputs.size());
    for (const Variable& x : inputs) next.push_back(x.requires_grad() ? x.gradient_edge() : nullptr);
    auto node = std::make_shared<FunctionNode>(name, std::move(next), std::move(vjp),
                                               save_out ? out : Tensor(),
                                               static_cast<std::size_t>(out.ndim()));
    result = make_result(out, node);
    if (needs_tangent(inputs)) {
      attach_tangents(name, result, inputs, jvp);
      if (save_out && !result.impl()->tangents.empty()) node->save_out_tangents(result.impl()->tangents);
    }
    return result;
  }
  result = Variable(out);
  if (needs_tangent(inputs)) attach_tangents(name, result, inputs, jvp);
  return result;
}

}  // namespace eigengrad
