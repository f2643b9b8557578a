// The Variable handle and grad mode: a Variable's state (data, requires_grad,
// grad_fn, .grad, tangents) and the thread's grad mode. Nodes are in node.cpp, the
// forward-mode levels in forward_levels.cpp; the methods built on ops (copy_) are in
// ops/variable_methods.cpp and backward() is in engine.cpp.
#include "eigengrad/variable.h"

#include <mutex>
#include <stdexcept>
#include <string>

#include "lock_stripes.h"

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
  if (requires_grad) impl_->grad_accumulator = std::make_shared<AccumulateGrad>(impl_);
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

Variable Variable::grad() const {
  checked(impl_);
  std::lock_guard<detail::SpinLock> lock(detail::stripe(impl_.get()));
  return impl_->grad;
}

void Variable::set_requires_grad(bool requires_grad) {
  if (!is_leaf())
    throw std::runtime_error(
        "requires_grad: only leaf Variables can change it; use detach() to make a leaf");
  if (requires_grad && !impl_->grad_accumulator) impl_->grad_accumulator = std::make_shared<AccumulateGrad>(impl_);
  impl_->requires_grad = requires_grad;
}

void Variable::set_grad(const Variable& grad) {
  checked(impl_);
  if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
    throw std::invalid_argument("grad: assigned gradient has shape " + shape_str(grad.shape()) +
                                " and dtype " + dtype_name(grad.dtype()) + ", the Variable has " +
                                shape_str(shape()) + " and " + dtype_name(dtype()));
  // A leaf gradient is stored through a handle of its own over the same values (and
  // the same accumulator), so that `x.grad = x` or `x.grad = y; y.grad = x` make no
  // reference cycle between handles, which nothing could free (Note [Grad cycles]).
  Variable stored = grad;
  if (grad.defined() && !grad.grad_fn()) {
    stored = Variable(grad.data());
    stored.impl_->requires_grad = grad.requires_grad();
    stored.impl_->grad_accumulator = grad.impl_->grad_accumulator;
    stored.impl_->tangents = grad.impl_->tangents;
  }
  Variable old;  // dropped outside the lock: it may own a whole graph (create_graph)
  std::lock_guard<detail::SpinLock> lock(detail::stripe(impl_.get()));
  old = std::move(impl_->grad);
  impl_->grad = std::move(stored);
}

// Note [Grad cycles]
// A Variable's state owns its `.grad`. A gradient that is a leaf is held through a
// fresh handle (same buffer, same requires_grad and accumulator), so assigning
// Variables as each other's gradients never closes a cycle of owning references.
// A gradient with a graph (backward(create_graph=True), or x.grad = f(x)) may refer
// back to the Variable through the graph: that cycle is freed by `x.grad = None` (or
// an optimizer's zero_grad), as in PyTorch.

Variable Variable::detach() const { return Variable(data()); }

std::shared_ptr<Node> Variable::gradient_edge() const {
  const VariableImpl& impl = checked(impl_);
  if (impl.grad_fn) return impl.grad_fn;
  if (!impl.requires_grad) return nullptr;
  if (impl.grad_accumulator) return impl.grad_accumulator;
  std::lock_guard<detail::SpinLock> lock(detail::stripe(impl_.get()));  // only if made without one
  if (!impl.grad_accumulator) impl_->grad_accumulator = std::make_shared<AccumulateGrad>(impl_);
  return impl.grad_accumulator;
}

int Variable::register_hook(std::function<Variable(const Variable&)> hook) const {
  std::shared_ptr<Node> node = gradient_edge();
  if (!node)
    throw std::runtime_error("register_hook: the Variable does not require grad, so no gradient reaches it");
  return node->add_hook(std::move(hook));
}

int Variable::register_post_accumulate_grad_hook(std::function<Variable(const Variable&)> hook) const {
  const VariableImpl& impl = checked(impl_);
  if (impl.grad_fn || !impl.requires_grad)
    throw std::runtime_error(
        "register_post_accumulate_grad_hook: only a leaf that requires grad accumulates a gradient "
        "(this Variable is " + std::string(impl.grad_fn ? "the result of an op" : "a leaf that does not require grad") + ")");
  return gradient_edge()->add_hook(std::move(hook), HookKind::kPostAccumulate);
}

bool Variable::remove_hook(int id) const {
  std::shared_ptr<Node> node = gradient_edge();
  return node && node->remove_hook(id);
}

}  // namespace eigengrad
