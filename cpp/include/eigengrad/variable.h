// eigengrad: Variables (tensors that remember how they were computed) and graph nodes.
#pragma once

#include <cstdint>
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
  /// Forward-mode tangents, one per open ForwardLevel id that reached this value.
  std::vector<std::pair<std::uint64_t, Variable>> tangents;
};

/// What a backward rule gets: the output cotangent, the output itself when the op
/// asked to save it, and which inputs need a gradient (rules skip the others).
///
/// The cotangent may carry `lead` leading batch dimensions in front of the output's
/// shape (a whole Jacobian in one pass): rules address axes from the right and
/// prefix `lead_shape()` to the shapes they build.
struct BackwardArgs {
  const Variable& gout;
  const Variable& out;
  const std::vector<bool>& needs;
  std::size_t lead;
  bool need(std::size_t input) const { return needs[input]; }
  Shape lead_shape() const { return Shape(gout.shape().begin(), gout.shape().begin() + lead); }
};

/// A backward rule: one input cotangent per input (undefined where not needed).
using BackwardFn = std::function<std::vector<Variable>(const BackwardArgs&)>;

/// What a forward-mode (JVP) rule gets: one tangent per input (undefined means zero),
/// the output, and the number of leading batch dimensions of the tangents.
struct JvpArgs {
  const std::vector<Variable>& tangents;
  const Variable& out;
  std::size_t lead;
  bool has(std::size_t input) const { return tangents[input].defined(); }
  const Variable& t(std::size_t input) const { return tangents[input]; }
  Shape lead_shape() const;
};

/// A forward-mode rule: the output tangent (undefined means zero).
using JvpFn = std::function<Variable(const JvpArgs&)>;

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
               Tensor saved_out, std::size_t out_ndim);
  std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                              bool retain) override;
  void release() override;
  /// Keeps the output's forward-mode tangents for the rule (see Note [Forward over
  /// reverse] in variable.cpp).
  void save_out_tangents(std::vector<std::pair<std::uint64_t, Variable>> tangents) {
    saved_out_tangents_ = std::move(tangents);
  }

 private:
  BackwardFn rule_;
  Tensor saved_out_;
  std::vector<std::pair<std::uint64_t, Variable>> saved_out_tangents_;
  std::size_t out_ndim_;
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

/// Records `out` as the result of op `name` applied to `inputs`.
///  - Reverse mode: when grad mode is on and an input requires grad, the result gets
///    a FunctionNode running `vjp` (`save_out` keeps the output for it).
///  - Forward mode: for every open ForwardLevel at which an input has a tangent, the
///    result gets the tangent `jvp` computes (see Note [Forward levels]).
/// A null rule raises, naming the op, when it would be needed.
Variable record(const char* name, const Tensor& out, const std::vector<Variable>& inputs,
                BackwardFn vjp, JvpFn jvp = nullptr, bool save_out = false);

/// True when a forward level is open on this thread and some input has a tangent
/// (a cheap test, so ops skip building rules they do not need).
bool needs_tangent(const std::vector<Variable>& inputs);
/// True when a forward level is open and visible on this thread.
bool forward_levels_open();

/// Forward mode. A ForwardLevel opens a level of tangents on this thread for its
/// lifetime (levels nest, innermost last); `make_dual` attaches a tangent at a
/// level; `tangent` reads one back (undefined: zero).
class ForwardLevel {
 public:
  ForwardLevel();
  ~ForwardLevel();
  ForwardLevel(const ForwardLevel&) = delete;
  ForwardLevel& operator=(const ForwardLevel&) = delete;
  std::uint64_t id() const { return id_; }

 private:
  std::uint64_t id_;
};

/// `primal` (as a differentiable alias that keeps its other tangents) carrying
/// `tangent` at `level`. The tangent has primal's shape, or leading batch
/// dimensions followed by primal's shape (one tangent per batch entry).
Variable make_dual(const Variable& primal, const Variable& tangent, const ForwardLevel& level);
/// The tangent of `x` at `level` (undefined when x has none: a zero tangent).
Variable tangent(const Variable& x, const ForwardLevel& level);
/// `x` as an input to differentiate with respect to, keeping its tangents: a new
/// leaf that requires grad when x does not, else an alias connected to x's graph
/// (so an outer reverse pass still reaches x).
Variable grad_input(const Variable& x);

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
