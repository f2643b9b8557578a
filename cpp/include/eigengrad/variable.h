// eigengrad: Variables (tensors that remember how they were computed) and graph nodes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eigengrad/tensor.h"

namespace eigengrad {

class Node;
struct VariableImpl;

/// A tensor in the autodiff graph. A Variable is a cheap handle: copies share the
/// same value, `.grad` and graph position. A default-constructed Variable is
/// "undefined" (used for "no gradient").
///
/// Leaves are Variables made by the user; when `requires_grad()` is true, backward
/// accumulates their gradient (with the leaf's shape and dtype: denominator layout)
/// into `grad()`. Every op result whose inputs require grad records a `grad_fn` node.
class Variable {
 public:
  Variable() = default;
  /// A leaf holding `data` (shared, not copied).
  explicit Variable(Tensor data, bool requires_grad = false);

  bool defined() const { return impl_ != nullptr; }
  const Tensor& data() const;
  const Shape& shape() const { return data().shape(); }
  std::int64_t ndim() const { return data().ndim(); }
  std::int64_t numel() const { return data().numel(); }
  DType dtype() const { return data().dtype(); }

  bool requires_grad() const;
  /// Only leaves may change this; throws RuntimeError on a non-leaf.
  void set_requires_grad(bool requires_grad);
  bool is_leaf() const;
  /// The node that computed this Variable (null for leaves).
  const std::shared_ptr<Node>& grad_fn() const;
  /// The accumulated gradient of a leaf (undefined until a backward reaches it).
  Variable grad() const;
  void set_grad(const Variable& grad);

  /// Reverse mode from this Variable. `grad` defaults to 1 for a single-element
  /// Variable; otherwise it is required and must have this shape. `retain_graph`
  /// defaults to `create_graph`.
  void backward(const Variable& grad = Variable(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;
  /// A leaf sharing this value, cut from the graph.
  Variable detach() const;
  double item() const { return data().item(); }

  /// The node to send this Variable's cotangent to: grad_fn for results, a
  /// gradient accumulator for leaves that require grad, null otherwise.
  std::shared_ptr<Node> gradient_edge() const;

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  bool same(const Variable& other) const { return impl_ == other.impl_; }

 private:
  friend Variable make_result(Tensor, std::shared_ptr<Node>);
  std::shared_ptr<VariableImpl> impl_;
};

/// The state behind a Variable handle.
struct VariableImpl {
  Tensor data;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;           // results only
  std::shared_ptr<Node> grad_accumulator;  // leaves only, made on first use
  Variable grad;
};

/// What a backward rule gets: the output cotangent, the output itself when the op
/// asked to save it, and which inputs need a gradient (rules skip the others).
struct BackwardArgs {
  const Variable& gout;
  const Variable& out;
  const std::vector<bool>& needs;
  bool need(std::size_t input) const { return needs[input]; }
};

/// A backward rule: one input cotangent per input (undefined where not needed).
using BackwardFn = std::function<std::vector<Variable>(const BackwardArgs&)>;

/// A node of the recorded graph: one op application with one output. `next` holds,
/// per input, the node that receives that input's cotangent (null when the input
/// does not require grad). See Note [Iterative teardown] in variable.cpp.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(const char* name, std::vector<std::shared_ptr<Node>> next);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  const std::vector<std::shared_ptr<Node>>& next() const { return next_; }

  /// Input cotangents for output cotangent `gout`. `needs[i]` says whether input i
  /// needs one. Unless `retain`, the saved values are released afterwards and a
  /// second call raises RuntimeError naming retain_graph.
  virtual std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                                      bool retain) = 0;
  /// Drops saved values (no further apply possible).
  virtual void release() {}

 protected:
  const char* name_;
  std::vector<std::shared_ptr<Node>> next_;
  friend void teardown(Node&);
};

/// The node of an op: a backward rule (whose captures are the saved values) and,
/// when the rule uses it, the op's output tensor (saved as data, not as a Variable,
/// so that the node does not own itself).
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, std::vector<std::shared_ptr<Node>> next, BackwardFn rule,
               Tensor saved_out);
  std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                              bool retain) override;
  void release() override;

 private:
  BackwardFn rule_;
  Tensor saved_out_;
  bool released_ = false;
};

/// The node that adds incoming cotangents into a leaf's `.grad`.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<VariableImpl>& leaf);
  std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                              bool retain) override;
  std::shared_ptr<VariableImpl> leaf() const { return leaf_.lock(); }

 private:
  std::weak_ptr<VariableImpl> leaf_;  // weak: the leaf owns its accumulator
};

/// A non-leaf Variable holding `data`, computed by `grad_fn`.
Variable make_result(Tensor data, std::shared_ptr<Node> grad_fn);

/// Records `out` as the result of op `name` applied to `inputs`. When grad mode is
/// on and an input requires grad, the result gets a FunctionNode running `rule`;
/// otherwise it is a plain Variable. `save_out` keeps the output for the rule.
Variable record(const char* name, const Tensor& out, const std::vector<Variable>& inputs,
                BackwardFn rule, bool save_out = false);

/// Whether ops record the graph on this thread (on by default).
bool grad_enabled();
void set_grad_enabled(bool enabled);

/// RAII: sets grad mode for a scope and restores the previous mode.
class GradMode {
 public:
  explicit GradMode(bool enabled) : previous_(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradMode() { set_grad_enabled(previous_); }
  GradMode(const GradMode&) = delete;
  GradMode& operator=(const GradMode&) = delete;

 private:
  bool previous_;
};

/// RAII: no graph is recorded in this scope.
class NoGradGuard : public GradMode {
 public:
  NoGradGuard() : GradMode(false) {}
};

}  // namespace eigengrad
