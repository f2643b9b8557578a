#include "eigengrad/variable.h"

#include "eigengrad/engine.h"
#include "eigengrad/ops.h"

namespace eigengrad {

// ---- grad mode ----------------------------------------------------------------

namespace {
thread_local bool tls_grad_enabled = true;
}

bool grad_enabled() { return tls_grad_enabled; }
void set_grad_enabled(bool enabled) { tls_grad_enabled = enabled; }

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
                           BackwardFn rule, Tensor saved_out)
    : Node(name, std::move(next)), rule_(std::move(rule)), saved_out_(std::move(saved_out)) {}

std::vector<Variable> FunctionNode::apply(const Variable& gout, const std::vector<bool>& needs,
                                          bool retain) {
  if (released_)
    throw std::runtime_error(
        std::string(name_) +
        ": trying to backward through the graph a second time (its saved values were freed "
        "after the first backward); pass retain_graph=True to the first backward to keep them");
  Variable out;
  if (saved_out_.defined())
    out = grad_enabled() ? make_result(saved_out_, shared_from_this()) : Variable(saved_out_);
  std::vector<Variable> grads = rule_(BackwardArgs{gout, out, needs});
  if (!retain) release();
  return grads;
}

void FunctionNode::release() {
  rule_ = nullptr;
  saved_out_ = Tensor();
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
                BackwardFn rule, bool save_out) {
  if (!grad_enabled()) return Variable(out);
  bool any = false;
  for (const Variable& x : inputs) any = any || x.requires_grad();
  if (!any) return Variable(out);
  std::vector<std::shared_ptr<Node>> next;
  next.reserve(inputs.size());
  for (const Variable& x : inputs) next.push_back(x.requires_grad() ? x.gradient_edge() : nullptr);
  auto node = std::make_shared<FunctionNode>(name, std::move(next), std::move(rule),
                                             save_out ? out : Tensor());
  return make_result(out, std::move(node));
}

}  // namespace eigengrad
