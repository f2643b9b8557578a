// The reverse-mode engine: discover the graph, count dependencies, run each node
// once all of its consumers have sent their cotangents. No recursion anywhere.
#include "eigengrad/engine.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "eigengrad/memory.h"
#include "eigengrad/monitor.h"
#include "eigengrad/ops.h"
#include "lock_stripes.h"

namespace eigengrad {

namespace {

std::atomic<void (*)()> interrupt_check{nullptr};

/// Calls the embedding's interrupt check, if any (see detail::set_interrupt_check).
void check_interrupt() {
  if (auto check = interrupt_check.load(std::memory_order_relaxed)) check();
}

/// The cotangent a root output starts with: `grad` checked against the output (with
/// one leading batch dimension when `batched`), or 1.
Variable seed_for(const Variable& output, const Variable& grad, bool batched) {
  if (batched) {
    if (!grad.defined())
      throw std::invalid_argument("grad: is_grads_batched needs grad_outputs for every output");
    const Shape& gs = grad.shape();
    if (gs.size() != output.shape().size() + 1 || !std::equal(output.shape().begin(), output.shape().end(), gs.begin() + 1))
      throw std::invalid_argument("grad: batched grad_output has shape " + shape_str(gs) +
                                  "; expected a batch dimension followed by the output's shape " +
                                  shape_str(output.shape()));
    return grad.dtype() == output.dtype() ? grad : astype(grad, output.dtype());
  }
  if (!grad.defined()) {
    if (output.numel() != 1)
      throw std::runtime_error(
          "backward: grad can be implicitly created only for single-element outputs; the "
          "output has shape " + shape_str(output.shape()) + ", so pass grad= of that shape");
    return Variable(Tensor::full(output.shape(), 1.0, output.dtype()));
  }
  if (grad.shape() != output.shape())
    throw std::invalid_argument("backward: grad has shape " + shape_str(grad.shape()) +
                                " but the output has shape " + shape_str(output.shape()));
  return grad.dtype() == output.dtype() ? grad : astype(grad, output.dtype());
}

/// What the engine knows of one node during a pass (an entry of the dense table).
struct NodeState {
  std::uint32_t first_edge = 0;  // the node's input edges: edges[first_edge, + edge_count)
  std::uint32_t edge_count = 0;
  Variable buffer;  // the sum of the cotangents received so far
  int deps = 0;     // needed consumers that have not run yet
  bool needed = false;
  bool queued = false;
};

// Note [Pass scratch]
// A backward of a small graph (a training step of a tiny model, the per-op
// benchmark) made some fifteen heap allocations for the engine's own tables: the
// dense table, the edges, the discovery stack, the ready list, and the lists of
// roots and seeds. Their memory is now kept per thread between passes: a pass
// borrows a PassScratch from its thread's spare list (a backward started from a
// hook inside another pass gets a second one) and gives it back emptied, its
// capacity kept. A scratch grown past kKeptNodes entries (a 100,000-op chain) is
// freed instead, so an idle thread holds at most a few hundred kilobytes.
struct PassScratch {
  static constexpr std::size_t kKeptNodes = 4096;
  std::vector<Node*> roots, order, held;
  std::vector<Variable> seeds;
  std::vector<std::uint32_t> root_index, edges, ready;
  std::vector<NodeState> states;
  std::vector<std::pair<Node*, std::size_t>> stack;
  std::vector<bool> needs;

  /// Empties every table (dropping the cotangents and seeds), keeping the capacity.
  void clear() {
    roots.clear(), order.clear(), held.clear(), seeds.clear(), root_index.clear(), edges.clear();
    ready.clear(), states.clear(), stack.clear(), needs.clear();
  }
  bool small() const { return order.capacity() <= kKeptNodes && edges.capacity() <= 4 * kKeptNodes; }
};

/// A PassScratch borrowed from this thread's spare list for the lifetime of a pass.
class ScratchLease {
 public:
  ScratchLease() {
    if (spare_.empty()) {
      scratch_ = std::make_unique<PassScratch>();
    } else {
      scratch_ = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  ~ScratchLease() {
    scratch_->clear();
    if (!scratch_->small()) return;  // freed with the lease
    try {
      spare_.push_back(std::move(scratch_));
    } catch (...) {
      // No memory to keep it: it is freed instead.
    }
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  PassScratch& operator*() const { return *scratch_; }

 private:
  static inline thread_local std::vector<std::unique_ptr<PassScratch>> spare_;
  std::unique_ptr<PassScratch> scratch_;
};

/// One run of the engine. `targets` (for grad()) maps nodes to the indices of the
/// inputs whose cotangent they receive; empty means backward() into leaves.
///
/// The graph is first discovered (iterative DFS) into a dense table: one State per
/// node and the edges as table indices, so that the run itself looks nothing up.
///
/// Note [Dense discovery]
/// Discovery must know, for every node it meets, whether it has seen it and at
/// which index. A hash map from node to index cost two lookups per node, a rehash
/// of a large table every time it doubled, and the frees of the old tables, each
/// of which made glibc consolidate its free lists (a fifth of a long chain's
/// backward). Instead each node carries a mark (Node::discovery_mark): the pass
/// that holds it and its index. A pass claims a node with one compare-and-swap
/// from 0 to its own number, and gives all its nodes back when discovery ends, so
/// a node is held only while one discovery runs. Should two threads discover
/// overlapping graphs at once, the second finds a node held by the first: it
/// gives back what it claimed and discovers again with a hash map (MapMarks),
/// which needs no marks. A backward run from a hook, inside another pass's run,
/// finds every mark free.
class DenseMarks {
 public:
  explicit DenseMarks(std::vector<Node*>& held)
      : pass_(next_pass_.fetch_add(1, std::memory_order_relaxed)), held_(held) {}
  ~DenseMarks() { release(); }

  /// 1 when `node` is new to this pass (now held by it), 0 when already seen, -1
  /// when another pass holds it.
  int visit(Node* node) {
    std::atomic<std::uint64_t>& holder = node->discovery_mark().pass;
    std::uint64_t free = 0;
    if (holder.compare_exchange_strong(free, pass_, std::memory_order_acquire)) {
      held_.push_back(node);
      return 1;
    }
    return free == pass_ ? 0 : -1;
  }
  void reserve(std::size_t nodes) { held_.reserve(nodes); }
  void set_index(Node* node, std::uint32_t index) { node->discovery_mark().index = index; }
  std::uint32_t index(Node* node) const { return node->discovery_mark().index; }
  void release() {
    for (Node* node : held_) node->discovery_mark().pass.store(0, std::memory_order_release);
    held_.clear();
  }

 private:
  static inline std::atomic<std::uint64_t> next_pass_{1};
  std::uint64_t pass_;
  std::vector<Node*>& held_;  // the pass's scratch
};

class MapMarks {
 public:
  void reserve(std::size_t nodes) { index_.reserve(nodes); }
  int visit(Node* node) { return index_.emplace(node, 0).second ? 1 : 0; }
  void set_index(Node* node, std::uint32_t index) { index_[node] = index; }
  std::uint32_t index(Node* node) const { return index_.at(node); }

 private:
  std::unordered_map<Node*, std::uint32_t> index_;
};

class GraphTask {
 public:
  GraphTask(VariableSpan outputs, VariableSpan grad_outputs, std::optional<bool> retain_graph, bool create_graph,
            bool batched = false)
      : retain_graph_(retain_graph), create_graph_(create_graph), roots_((*scratch_).roots),
        seeds_((*scratch_).seeds), root_index_((*scratch_).root_index), order_((*scratch_).order),
        states_((*scratch_).states), edges_((*scratch_).edges) {
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
      throw std::invalid_argument("backward: " + std::to_string(grad_outputs.size()) +
                                  " grad_outputs for " + std::to_string(outputs.size()) + " outputs");
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      std::shared_ptr<Node> node = outputs[i].gradient_edge();
      if (!node)
        throw std::runtime_error("backward: output " + std::to_string(i) +
                                 " does not require grad and has no grad_fn");
      seeds_.push_back(seed_for(outputs[i], grad_outputs.empty() ? Variable() : grad_outputs[i], batched));
      roots_.push_back(node.get());
    }
  }

  void add_target(Node* node, std::size_t index) { targets_[node].push_back(index); }

  /// See grad(): record the pass when the graph reaches a leaf that is not a target.
  void create_graph_if_outer() { create_graph_if_outer_ = true; }
  bool create_graph() const { return create_graph_; }

  /// Runs the graph; returns the cotangent of every target index.
  std::vector<Variable> run(std::size_t n_targets) {
    discover();
    if (create_graph_if_outer_ && !create_graph_ && reaches_other_leaves()) create_graph_ = true;
    const bool retain = retain_graph_.value_or(create_graph_);
    // A node is needed when it leads to a target (every node, for backward()).
    // `order_` lists children before parents, so one pass settles it.
    for (std::size_t i = 0; i < order_.size(); ++i) {
      NodeState& s = states_[i];
      s.needed = targets_.empty() || targets_.count(order_[i]);
      for (std::uint32_t child : children(s)) s.needed = s.needed || (child != kNone && states_[child].needed);
    }
    for (const NodeState& s : states_)
      if (s.needed)
        for (std::uint32_t child : children(s))
          if (child != kNone && states_[child].needed) ++states_[child].deps;
    for (std::size_t r = 0; r < roots_.size(); ++r) add_to(states_[root_index_[r]].buffer, seeds_[r]);

    std::vector<Variable> captured(n_targets);
    std::vector<std::uint32_t>& ready = (*scratch_).ready;
    for (std::uint32_t i : root_index_) {
      NodeState& s = states_[i];
      if (s.needed && s.deps == 0 && !s.queued) {
        s.queued = true;
        ready.push_back(i);
      }
    }

    GradMode mode(create_graph_);
    // Note [Monitor in the engine]
    // With eg.grad_monitor active on this thread (eigengrad/monitor.h), the pass
    // reports activation nodes before their rule frees the saved output, the
    // cotangents each rule produced, and (AccumulateGrad::apply) each leaf's new
    // gradient. Off, this is one thread-local load per pass and a test per node.
    GradMonitor* monitor = detail::active_monitor();
    struct PassEnd {
      GradMonitor* monitor;
      ~PassEnd() {
        if (monitor) monitor->end_pass();
      }
    } pass_end{monitor};
    if (monitor) monitor->begin_pass();
    std::vector<bool>& needs = (*scratch_).needs;
    std::uint64_t steps = 0;  // nodes run, for the interrupt check
    while (!ready.empty()) {
      const std::uint32_t i = ready.back();
      ready.pop_back();
      Node* node = order_[i];
      NodeState& s = states_[i];
      Variable gout = std::move(s.buffer);
      s.buffer = Variable();
      if ((++steps & 255) == 0) check_interrupt();
      if (gout.defined() && node->has_hooks()) gout = node->run_hooks(gout);
      if (!targets_.empty())
        if (auto it = targets_.find(node); it != targets_.end())
          for (std::size_t index : it->second) captured[index] = gout;

      const std::uint32_t* child_index = edges_.data() + s.first_edge;
      needs.assign(s.edge_count, false);
      for (std::size_t k = 0; k < needs.size(); ++k)
        needs[k] = child_index[k] != kNone && states_[child_index[k]].needed;
      std::vector<Variable> grads;
      const bool is_leaf_sink = s.edge_count == 0 && dynamic_cast<AccumulateGrad*>(node);
      if (gout.defined() && !(is_leaf_sink && !targets_.empty())) {
        AllocationLabel label(node->name(), true);
        if (monitor && !is_leaf_sink) monitor->on_node(*node);
        grads = node->apply(gout, needs, retain);
        if (monitor) monitor->on_cotangents(*node, grads);
        if (!is_leaf_sink && grads.size() != needs.size())
          throw InternalError(std::string(node->name()) + ": backward rule returned " +
                              std::to_string(grads.size()) + " gradients for " +
                              std::to_string(needs.size()) + " inputs");
      }
      for (std::size_t k = 0; k < needs.size(); ++k) {
        if (!needs[k]) continue;
        NodeState& child = states_[child_index[k]];
        if (k < grads.size() && grads[k].defined()) add_to(child.buffer, grads[k]);
        if (--child.deps == 0) ready.push_back(child_index[k]);
      }
    }
    return captured;
  }

 private:
  static constexpr std::uint32_t kNone = 0xffffffffu;

  struct Children {
    const std::uint32_t *first, *last;
    const std::uint32_t* begin() const { return first; }
    const std::uint32_t* end() const { return last; }
  };
  /// The table index of each input edge's node (kNone for an edge without one).
  Children children(const NodeState& s) const {
    const std::uint32_t* first = edges_.data() + s.first_edge;
    return {first, first + s.edge_count};
  }

  /// Fills order_ (children before parents), states_, edges_ and root_index_
  /// (Note [Dense discovery]).
  void discover() {
    DenseMarks dense((*scratch_).held);
    if (!discover_with(dense)) {
      dense.release();
      MapMarks map;
      discover_with(map);
    }
  }

  /// The DFS with `marks` saying which nodes were seen; false (and nothing filled)
  /// when a node is held by another pass.
  template <class Marks>
  bool discover_with(Marks& marks) {
    // Sized from the last graph this thread discovered: a training loop discovers
    // the same graph every step, and vectors grown by doubling freed a large block
    // at each step of growth (each free of a large block makes glibc consolidate).
    static thread_local std::size_t last_size = 0;
    order_.clear();
    order_.reserve(last_size);
    marks.reserve(last_size);
    std::vector<std::pair<Node*, std::size_t>>& stack = (*scratch_).stack;
    stack.clear();
    stack.reserve(last_size);
    for (Node* root : roots_) {
      const int fresh = marks.visit(root);
      if (fresh < 0) return false;
      if (!fresh) continue;
      stack.emplace_back(root, 0);
      while (!stack.empty()) {
        auto& [node, k] = stack.back();
        if (k < node->next().size()) {
          Node* child = node->next()[k++].get();
          if (!child) continue;
          const int fresh_child = marks.visit(child);
          if (fresh_child < 0) return false;
          if (fresh_child) stack.emplace_back(child, 0);
        } else {
          marks.set_index(node, static_cast<std::uint32_t>(order_.size()));
          order_.push_back(node);
          stack.pop_back();
          if ((order_.size() & 255) == 0) check_interrupt();
        }
      }
    }
    states_.resize(order_.size());
    std::size_t edge_count = 0;
    for (Node* node : order_) edge_count += node->next().size();
    edges_.resize(edge_count);
    std::uint32_t at = 0;
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const auto& next = order_[i]->next();
      states_[i].first_edge = at;
      states_[i].edge_count = static_cast<std::uint32_t>(next.size());
      for (const auto& child : next) edges_[at++] = child ? marks.index(child.get()) : kNone;
    }
    for (Node* root : roots_) root_index_.push_back(marks.index(root));
    last_size = order_.size();
    return true;
  }

  // Note [Outer leaves]
  // A transform (eg.grad, vjp, jacobian) differentiates with respect to inputs of
  // its own; the function may also read Variables that require grad from outside
  // (an argument not differentiated, a closed-over parameter), whose gradient
  // accumulators then appear in the graph. The rules read those values, so the
  // gradients depend on them: the pass is recorded (create_graph) to keep the
  // result differentiable in them, as torch.func and JAX do. A graph that reaches
  // no such leaf is run without recording.
  bool reaches_other_leaves() const {
    for (Node* node : order_)
      if (!targets_.count(node) && dynamic_cast<AccumulateGrad*>(node)) return true;
    return false;
  }

  static void add_to(Variable& slot, const Variable& g) { slot = slot.defined() ? add(slot, g) : g; }

  ScratchLease scratch_;  // first: the references below point into it
  std::optional<bool> retain_graph_;
  bool create_graph_;
  bool create_graph_if_outer_ = false;
  std::vector<Node*>& roots_;
  std::vector<Variable>& seeds_;
  std::vector<std::uint32_t>& root_index_;
  std::vector<Node*>& order_;
  std::vector<NodeState>& states_;
  std::vector<std::uint32_t>& edges_;
  std::unordered_map<Node*, std::vector<std::size_t>> targets_;
};

}  // namespace

namespace detail {
void set_interrupt_check(void (*check)()) { interrupt_check.store(check); }
}  // namespace detail

void backward(VariableSpan outputs, VariableSpan grad_outputs, std::optional<bool> retain_graph, bool create_graph) {
  AllocationLabel label("backward");
  GraphTask task(outputs, grad_outputs, retain_graph, create_graph);
  task.run(0);
}

std::vector<Variable> grad(VariableSpan outputs, VariableSpan inputs, VariableSpan grad_outputs,
                           std::optional<bool> retain_graph,
                           bool create_graph, bool allow_unused, bool is_grads_batched,
                           bool create_graph_if_outer) {
  AllocationLabel label("grad");
  GraphTask task(outputs, grad_outputs, retain_graph, create_graph, is_grads_batched);
  if (create_graph_if_outer) task.create_graph_if_outer();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::shared_ptr<Node> node = inputs[i].requires_grad() ? inputs[i].gradient_edge() : nullptr;
    if (!node)
      throw std::runtime_error("grad: input " + std::to_string(i) + " does not require grad");
    task.add_target(node.get(), i);
  }
  std::vector<Variable> grads = task.run(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!grads[i].defined()) {
      if (!allow_unused)
        throw std::runtime_error("grad: input " + std::to_string(i) +
                                 " was not used to compute the outputs (pass allow_unused=True "
                                 "to get None for it)");
      continue;
    }
    // Every gradient gets a buffer of its own: two inputs may have received the very
    // same cotangent, or the seed itself (a differentiable copy when recorded).
    grads[i] = detail::with_own_buffer(grads[i], task.create_graph());
  }
  return grads;
}

// ---- the Variable and node methods that run the engine or add gradients ---------

void Variable::backward(const Variable& grad, std::optional<bool> retain_graph, bool create_graph) const {
  eigengrad::backward({*this}, {grad}, retain_graph, create_graph);
}

Variable Node::run_hooks(Variable gout) {
  for (const GradHook& hook : hooks_of(HookKind::kGradient)) {
    Variable replaced = hook(gout);
    if (!replaced.defined()) continue;
    if (replaced.shape() != gout.shape())
      throw std::invalid_argument(std::string(name_) + ": a gradient hook returned shape " +
                                  shape_str(replaced.shape()) + " for a gradient of shape " +
                                  shape_str(gout.shape()));
    gout = replaced.dtype() == gout.dtype() ? replaced : astype(replaced, gout.dtype());
  }
  return gout;
}

std::vector<Variable> AccumulateGrad::apply(const Variable& gout, const std::vector<bool>&,
                                            bool) {
  std::shared_ptr<VariableImpl> leaf = leaf_.lock();
  if (!leaf) return {};
  if (gout.shape() != leaf->data.shape() || gout.dtype() != leaf->data.dtype())
    throw InternalError("AccumulateGrad: gradient of shape " + shape_str(gout.shape()) +
                        " for a leaf of shape " + shape_str(leaf->data.shape()));
  // The sum is computed outside the lock and stored only if no other thread has
  // stored one meanwhile; otherwise it is computed again (Note [Threads]).
  detail::SpinLock& lock = detail::stripe(leaf.get());
  Tensor stored;  // the new gradient, for an active grad_monitor (Note [Monitor in the engine])
  for (;;) {
    Variable old;
    {
      std::lock_guard<detail::SpinLock> guard(lock);
      old = leaf->grad;
    }
    Variable updated;
    // create_graph keeps the gradient's own graph (a differentiable copy when shared).
    updated = old.defined() ? add(old, gout) : detail::with_own_buffer(gout, grad_enabled());
    std::lock_guard<detail::SpinLock> guard(lock);
    if (leaf->grad.same(old)) {
      if (detail::active_monitor()) stored = updated.data();
      std::swap(leaf->grad, updated);  // the old gradient dies outside the lock
      break;
    }
  }
  if (stored.defined()) detail::active_monitor()->on_accumulated(*leaf, stored);
  if (has_hooks()) run_post_accumulate_hooks(leaf);
  return {};
}

// Note [Post-accumulate hooks]
// The engine runs a leaf's accumulator once per backward, after every consumer of
// the leaf has sent its cotangent (the dependency count reached zero), so when the
// accumulator has stored the sum the leaf's gradient for this pass is final. Its
// post-accumulate hooks run right then, while the rest of the backward is still to
// come: data-parallel training starts reducing a bucket of gradients here, so that
// communication overlaps the remaining backward (eigengrad.distributed). grad()
// runs no accumulator and so no such hook.
void AccumulateGrad::run_post_accumulate_hooks(const std::shared_ptr<VariableImpl>& leaf) {
  std::vector<GradHook> hooks = hooks_of(HookKind::kPostAccumulate);
  if (hooks.empty()) return;
  Variable handle;
  handle.impl_ = leaf;
  for (const GradHook& hook : hooks) hook(handle);
}

namespace detail {
Variable with_own_buffer(const Variable& g, bool differentiable) {
  // The cotangent may be shared with another gradient (add passes it through), a
  // user's array (the seed), or a view; then it is copied. Otherwise it is handed over.
  const Tensor& data = g.data();
  if (g.impl().use_count() == 1 && data.storage().use_count() == 1 && !data.storage()->borrowed()) return g;
  if (differentiable) return copy(g);
  Variable own(data.clone());
  own.impl()->tangents = g.impl()->tangents;  // forward over reverse
  return own;
}
}  // namespace detail

}  // namespace eigengrad
