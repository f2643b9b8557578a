// eigengrad: Variables (tensors that remember how they were computed) and graph nodes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
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
  /// Writes `value` (broadcast to this shape, converted to this dtype) into this
  /// Variable's buffer in place and bumps the buffer's version, so every view of the
  /// buffer sees the new values and a backward rule that saved the old ones raises
  /// (Note [Version counter] in node.cpp). Nothing is recorded: a Variable that
  /// requires grad may be written only with grad mode off (RuntimeError otherwise).
  void copy_(const Variable& value) const;
  /// The version of this Variable's buffer: how many in-place writes it has seen.
  std::uint64_t version() const { return data().version(); }
  /// Registers `hook`, called with this Variable's gradient during every backward
  /// that computes it (for a leaf: before accumulating into grad()); a defined
  /// result replaces the gradient. Returns an id for remove_hook. RuntimeError
  /// when the Variable does not require grad.
  int register_hook(std::function<Variable(const Variable&)> hook) const;
  /// Registers `hook`, called with this leaf once its grad() has received this
  /// backward's whole gradient (after accumulation; not in grad(), which does not
  /// accumulate). Its result is ignored. Returns an id for remove_hook. RuntimeError
  /// unless the Variable is a leaf that requires grad.
  int register_post_accumulate_grad_hook(std::function<Variable(const Variable&)> hook) const;
  /// Removes a hook registered on this Variable; false when the id is unknown.
  bool remove_hook(int id) const;
  double item() const { return data().item(); }

  /// The node to send this Variable's cotangent to: grad_fn for results, a
  /// gradient accumulator for leaves that require grad, null otherwise.
  std::shared_ptr<Node> gradient_edge() const;

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  bool same(const Variable& other) const { return impl_ == other.impl_; }

 private:
  friend Variable make_result(Tensor, std::shared_ptr<Node>);
  friend class AccumulateGrad;  // hands its leaf to post-accumulate hooks
  std::shared_ptr<VariableImpl> impl_;
};

/// A read-only view of Variables stored one after another: a braced list `{x, y}`
/// or a std::vector. record() and its helpers take their inputs this way, so an op
/// passes `{x, y}` without building a vector on the heap. A view does not own the
/// Variables: make it only as a function argument, never as a variable of its own
/// (a braced list lives until the end of the call's full expression).
class VariableSpan {
 public:
  VariableSpan(std::initializer_list<Variable> list) : first_(std::data(list)), size_(list.size()) {}
  VariableSpan(const std::vector<Variable>& list) : first_(list.data()), size_(list.size()) {}
  const Variable* begin() const { return first_; }
  const Variable* end() const { return first_ + size_; }
  const Variable* data() const { return first_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Variable& operator[](std::size_t i) const { return first_[i]; }

 private:
  const Variable* first_;
  std::size_t size_;
};

/// The state behind a Variable handle.
struct VariableImpl {
  Tensor data;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;           // results only
  /// Leaves that require grad only; made with the leaf (or when requires_grad is
  /// set), never later, so that threads sharing a leaf can read it without a lock.
  std::shared_ptr<Node> grad_accumulator;
  /// Read and written under a lock (see Note [Threads] in lock_stripes.h): use
  /// Variable::grad() and set_grad().
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

namespace detail {
struct SavedReads;
}

/// A hook on the cotangent that reaches a node (see Variable::register_hook), or,
/// for a post-accumulate hook, on the leaf whose gradient is complete (its result
/// is then ignored).
using GradHook = std::function<Variable(const Variable&)>;

/// When a hook runs: on the cotangent before the node uses it, or (gradient
/// accumulators only) on the leaf after its grad() has been updated.
enum class HookKind : std::uint8_t { kGradient, kPostAccumulate };

/// The input edges of a node: per input, the node that receives that input's
/// cotangent (null when the input does not require grad). Up to two live inside
/// the node (most ops have one or two inputs), so recording such an op allocates
/// no list; more go to the heap.
class NodeEdges {
 public:
  /// `n` null edges, to be filled through operator[].
  explicit NodeEdges(std::size_t n = 0) : size_(n) {
    if (n > kInline) heap_.resize(n);
  }
  NodeEdges(NodeEdges&& other) noexcept;
  NodeEdges& operator=(NodeEdges&&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::shared_ptr<Node>* begin() { return size_ > kInline ? heap_.data() : inline_; }
  std::shared_ptr<Node>* end() { return begin() + size_; }
  const std::shared_ptr<Node>* begin() const { return size_ > kInline ? heap_.data() : inline_; }
  const std::shared_ptr<Node>* end() const { return begin() + size_; }
  std::shared_ptr<Node>& operator[](std::size_t i) { return begin()[i]; }
  const std::shared_ptr<Node>& operator[](std::size_t i) const { return begin()[i]; }
  /// Drops every edge (the list becomes empty).
  void clear();

 private:
  static constexpr std::size_t kInline = 2;
  std::shared_ptr<Node> inline_[kInline];
  std::vector<std::shared_ptr<Node>> heap_;  // used when size_ > kInline
  std::size_t size_;
};

/// A node of the recorded graph: one op application with one output. `next` holds,
/// per input, the node that receives that input's cotangent (null when the input
/// does not require grad). See Note [Iterative teardown] in node.cpp.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node(const char* name, NodeEdges next);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  const NodeEdges& next() const { return next_; }

  /// Input cotangents for output cotangent `gout`. `needs[i]` says whether input i
  /// needs one. Unless `retain`, the saved values are released afterwards and a
  /// second call raises RuntimeError naming retain_graph. Safe to call from several
  /// threads at once (see Note [Threads] in lock_stripes.h).
  virtual std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                                      bool retain) = 0;
  /// Drops saved values (no further apply possible).
  virtual void release() {}

  /// Gradient hooks, run by the engine on the cotangent before `apply` (and before
  /// the engine hands it out as a result of grad()); post-accumulate hooks, run by
  /// AccumulateGrad::apply after the leaf's grad() is updated.
  int add_hook(GradHook hook, HookKind kind = HookKind::kGradient);
  bool remove_hook(int id);
  bool has_hooks() const { return has_hooks_.load(std::memory_order_acquire); }
  /// `gout` passed through every gradient hook in registration order.
  Variable run_hooks(Variable gout);
  /// Calls `fn` on every hook, under the node's lock (garbage-collector traversal:
  /// `fn` must not run Python code or touch the node).
  void visit_hooks(const std::function<void(const GradHook&)>& fn) const;
  /// Removes every hook.
  void clear_hooks();
  /// The line of user code that created this node, when it was recorded under an
  /// active eg.grad_monitor (eigengrad/monitor.h); null otherwise.
  /// The string is shared: nodes made on the same line point at one copy.
  const std::string* created_at() const { return created_at_.get(); }
  void set_created_at(std::shared_ptr<const std::string> where) { created_at_ = std::move(where); }

  /// The engine's scratch while it discovers a graph (Note [Dense discovery] in
  /// engine.cpp): the pass that holds this node (0 for none) and the node's index in
  /// that pass's table. No other code reads or writes it.
  struct DiscoveryMark {
    std::atomic<std::uint64_t> pass{0};
    std::uint32_t index = 0;
  };
  DiscoveryMark& discovery_mark() { return discovery_mark_; }

 protected:
  const char* name_;
  NodeEdges next_;
  friend void teardown(Node&);

 private:
  struct Hook {
    int id;
    HookKind kind;
    GradHook fn;
  };
  /// Copies of the hooks of one kind (taken under the lock, run outside it).
  std::vector<GradHook> hooks_of(HookKind kind) const;
  friend class AccumulateGrad;

  std::atomic<bool> has_hooks_{false};
  std::unique_ptr<std::vector<Hook>> hooks_;  // under the node's lock
  std::shared_ptr<const std::string> created_at_;  // set once, before the node is shared
  DiscoveryMark discovery_mark_;
};

/// The node of an op: a backward rule (whose captures are the saved values) and,
/// when the rule uses it, the op's output tensor (saved as data, not as a Variable,
/// so that the node does not own itself). It records the version of every input
/// value its rule reads and of the saved output, and refuses to run when one has
/// changed (Note [Version counter]).
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, NodeEdges next, BackwardFn rule,
               Tensor saved_out, std::size_t out_ndim);
  ~FunctionNode() override;
  std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                              bool retain) override;
  void release() override;
  /// Keeps the output's forward-mode tangents for the rule (see Note [Forward over
  /// reverse] in forward_levels.cpp).
  void save_out_tangents(std::vector<std::pair<std::uint64_t, Variable>> tangents) {
    saved_out_tangents_ = std::move(tangents);
  }
  /// The saved output (undefined when the rule does not use it or it was released).
  Tensor saved_out() const;
  /// Drops the saved tangents of a forward level that has closed.
  void drop_out_tangents(std::uint64_t level);
  /// Records the versions of the inputs whose values the rule reads (see
  /// Note [Saved values]; for an op of the table, what its entry lists, else every
  /// input); called once, by record().
  void save_input_versions(VariableSpan inputs, bool builtin);
  /// Records the versions of other values the rule keeps (a custom function's
  /// saved intermediates, watched weakly): apply raises, naming value k, when one
  /// has been changed in place since.
  void watch_saved_values(const std::vector<Tensor>& values);

 private:
  /// Marks a SavedVersion of a watched value (its index in the low bits), not an input.
  static constexpr std::uint32_t kSavedValue = 1u << 31;
  /// The version an input buffer had when the op ran (Note [Version counter]).
  /// For an op in the saved-reads table, the rule's captures keep the buffer alive
  /// (the table is checked against them), so a plain pointer is enough.
  struct SavedVersion {
    const Storage* storage = nullptr;
    std::uint64_t version = 0;
    std::uint32_t input = 0;
  };
  /// What few nodes need: versions past the second, buffers watched weakly (ops
  /// not in the table: custom functions, whose rules may keep nothing), and buffers
  /// whose lender holds, kept alive until released.
  struct SavedExtra {
    std::vector<SavedVersion> versions;
    std::vector<std::pair<std::weak_ptr<Storage>, SavedVersion>> weak;
    std::vector<std::shared_ptr<Storage>> held;
  };
  /// Everything release() frees, taken out of the node under its lock and freed
  /// (lenders released, captures dropped) outside it, when this goes.
  struct Saved {
    BackwardFn rule;
    std::unique_ptr<SavedExtra> extra;
    Tensor out;
    std::vector<std::pair<std::uint64_t, Variable>> out_tangents;
    Saved() = default;
    Saved(Saved&&) = default;
    ~Saved();
  };
  void check_versions(const std::vector<bool>& needs) const;
  /// Marks the node released and takes its saved values (none while an apply is in
  /// progress: the last one to finish frees them).
  Saved take_saved();

  BackwardFn rule_;
  Tensor saved_out_;
  std::uint64_t saved_out_version_ = 0;
  std::vector<std::pair<std::uint64_t, Variable>> saved_out_tangents_;
  SavedVersion versions_[2];
  std::uint8_t n_versions_ = 0;
  std::unique_ptr<SavedExtra> extra_;
  const detail::SavedReads* reads_ = nullptr;  // which inputs each gradient reads
  std::size_t out_ndim_;
  int running_ = 0;        // applies in progress
  bool claimed_ = false;   // an apply without retain has started: no other may
  bool released_ = false;  // the saved values are gone
};

/// The node that adds incoming cotangents into a leaf's `.grad`.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<VariableImpl>& leaf);
  std::vector<Variable> apply(const Variable& gout, const std::vector<bool>& needs,
                              bool retain) override;
  std::shared_ptr<VariableImpl> leaf() const { return leaf_.lock(); }

 private:
  /// Calls the post-accumulate hooks with the leaf (Note [Post-accumulate hooks]).
  void run_post_accumulate_hooks(const std::shared_ptr<VariableImpl>& leaf);

  std::weak_ptr<VariableImpl> leaf_;  // weak: the leaf owns its accumulator
};

namespace detail {
/// `g` itself when nothing else shares its handle or buffer, else a copy (with
/// its tangents; a differentiable copy op when `differentiable`): gradients handed
/// to users never alias each other, a seed or a user's array.
Variable with_own_buffer(const Variable& g, bool differentiable = false);

/// How many graph nodes (op nodes and gradient accumulators) are alive.
std::int64_t live_nodes();

/// Which input values the backward rule of an op reads, per input gradient:
/// `reads[i]` has bit j set when the gradient of input i reads input j (inputs past
/// the fourth read nothing). Null for an op not in the table (custom functions):
/// every gradient may read every input.
struct SavedReads {
  std::uint32_t reads[4];
};
/// Defined with the op tables (ops/ops.cpp): the graph asks, the ops answer.
const SavedReads* saved_reads(const char* op);
/// Test mode: record() checks that every op's backward rule captures exactly the
/// inputs saved_reads() lists (a drifted table would miss in-place updates).
void set_check_saved_reads(bool on);
/// In that test mode, throws InternalError when `vjp` captures other inputs than
/// saved_reads(name) lists; otherwise does nothing.
void check_saved_reads_table(const char* name, const BackwardFn& vjp, VariableSpan inputs);
}  // namespace detail

/// A non-leaf Variable holding `data`, computed by `grad_fn`.
Variable make_result(Tensor data, std::shared_ptr<Node> grad_fn);

/// Records `out` as the result of op `name` applied to `inputs`.
///  - Reverse mode: when grad mode is on and an input requires grad, the result gets
///    a FunctionNode running `vjp` (`save_out` keeps the output for it).
///  - Forward mode: for every open ForwardLevel at which an input has a tangent, the
///    result gets the tangent `jvp` computes (see Note [Forward levels]).
/// A null rule raises, naming the op, when it would be needed. `builtin` is false
/// for custom functions: their name says nothing about what their rules read (a
/// custom function called "mean" or "exp" is not the built-in op), so every input
/// they were given is version-checked.
Variable record(const char* name, const Tensor& out, VariableSpan inputs,
                BackwardFn vjp, JvpFn jvp = nullptr, bool save_out = false, bool builtin = true);

/// True when a forward level is open on this thread and some input has a tangent
/// (a cheap test, so ops skip building rules they do not need).
bool needs_tangent(VariableSpan inputs);
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
