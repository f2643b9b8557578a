// Graph nodes: Node (hooks, iterative teardown), FunctionNode (an op's backward
// rule with the versions of the values it saved, run safely from several threads)
// and the constructor of AccumulateGrad (its apply, which adds gradients with an op,
// is in engine.cpp).
#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

#include "counters.h"
#include "eigengrad/variable.h"
#include "lock_stripes.h"

namespace eigengrad {

namespace detail {
std::int64_t live_nodes() { return total(&Counts::nodes); }
}  // namespace detail

NodeEdges::NodeEdges(NodeEdges&& other) noexcept : heap_(std::move(other.heap_)), size_(other.size_) {
  for (std::size_t i = 0; i < kInline; ++i) inline_[i] = std::move(other.inline_[i]);
  other.heap_.clear();
  other.size_ = 0;
}

void NodeEdges::clear() {
  for (auto& edge : inline_) edge.reset();
  heap_.clear();
  size_ = 0;
}

Node::Node(const char* name, NodeEdges next)
    : name_(name), next_(std::move(next)) {
  detail::count(detail::thread_counts(), &detail::Counts::nodes, 1);
}

int Node::add_hook(GradHook hook, HookKind kind) {
  static std::atomic<int> next_id{1};
  const int id = next_id++;
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  if (!hooks_) hooks_ = std::make_unique<std::vector<Hook>>();
  hooks_->push_back(Hook{id, kind, std::move(hook)});
  has_hooks_.store(true, std::memory_order_release);
  return id;
}

bool Node::remove_hook(int id) {
  GradHook removed;  // destroyed outside the lock (it may hold a Python object)
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  if (!hooks_) return false;
  for (auto it = hooks_->begin(); it != hooks_->end(); ++it)
    if (it->id == id) {
      removed = std::move(it->fn);
      hooks_->erase(it);
      has_hooks_.store(!hooks_->empty(), std::memory_order_release);
      return true;
    }
  return false;
}

std::vector<GradHook> Node::hooks_of(HookKind kind) const {
  std::vector<GradHook> found;
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  if (hooks_)
    for (const Hook& hook : *hooks_)
      if (hook.kind == kind) found.push_back(hook.fn);
  return found;
}

void Node::visit_hooks(const std::function<void(const GradHook&)>& fn) const {
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  if (hooks_)
    for (const Hook& hook : *hooks_) fn(hook.fn);
}

void Node::clear_hooks() {
  std::unique_ptr<std::vector<Hook>> removed;  // destroyed outside the lock
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  removed = std::move(hooks_);
  has_hooks_.store(false, std::memory_order_release);
}


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
  auto adopt = [&stack](NodeEdges& next) {
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
  detail::count(detail::thread_counts(), &detail::Counts::nodes, -1);
}

// Note [Version counter]
// Every Storage counts the in-place writes eigengrad makes to it (optimizer steps,
// in-place operators, Variable::copy_). A FunctionNode records, when the op runs,
// the version of each input buffer its rule reads and of the output it saved; apply
// compares them before running the rule and raises, naming the op, the input and
// both versions, when one has changed: the rule would compute a gradient from the
// new values, silently wrong. Views (reshape, np.asarray of a Variable fed back to
// eg.Variable) share the Storage and so the counter. Writes through NumPy views of
// a Variable's buffer cannot be seen.
//
// Note [Saved values]
// Which input values a rule reads is a fact about the op, listed in one table
// (saved_reads, below) per input gradient: mul's gx reads y, its gy reads x. A node
// records versions only for the inputs read by the gradients of inputs that require
// grad, and checks only those its apply needs, so updating a value that the
// gradient does not use (x in x * 2, the weight in W @ x when only x needs a
// gradient) is not an error. Ops not in the table (custom functions) read every
// input. A test mode (set_check_saved_reads) compares the table with what each
// rule actually captures, so the table cannot drift from the rules.
//
// A NumPy array given to eigengrad is shared, not copied, and NumPy writes cannot
// bump a version. So while a rule keeps such an array's values, the array's lender
// is asked to refuse writes (the binding makes the array read-only; Lender in
// tensor.h); a write then raises in NumPy instead of corrupting the gradient.
// The array is writeable again once no rule keeps it: after the backward that
// frees the graph, or when the graph is dropped.


namespace {
using detail::SavedReads;

template <class Wanted>
std::uint64_t read_inputs(const SavedReads* reads, std::size_t n, Wanted wanted) {
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (wanted(i)) mask |= reads ? (i < 4 ? reads->reads[i] : 0) : ~std::uint64_t{0};
  return mask;
}

std::atomic<bool> check_reads{false};

/// Test mode: the inputs whose handle or buffer `vjp` holds a reference to, found
/// by copying it and watching the reference counts; -1 when inputs share a handle or
/// buffer (then the copy cannot tell them apart).
std::int64_t captured_inputs(const BackwardFn& vjp, VariableSpan inputs) {
  const std::size_t n = std::min<std::size_t>(inputs.size(), 32);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (inputs[i].impl() == inputs[j].impl() || inputs[i].data().storage() == inputs[j].data().storage())
        return -1;
  std::vector<long> handles(n), buffers(n);
  for (std::size_t i = 0; i < n; ++i) {
    handles[i] = inputs[i].impl().use_count();
    buffers[i] = inputs[i].data().storage().use_count();
  }
  BackwardFn copy = vjp;
  std::int64_t mask = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (inputs[i].impl().use_count() > handles[i] || inputs[i].data().storage().use_count() > buffers[i])
      mask |= std::int64_t{1} << i;
  return mask;
}

std::string input_list(std::uint64_t mask) {
  std::string s = "{";
  for (int i = 0; i < 32; ++i)
    if (mask >> i & 1) s += (s.size() > 1 ? ", " : "") + std::to_string(i);
  return s + "}";
}
}  // namespace

namespace detail {
void check_saved_reads_table(const char* name, const BackwardFn& vjp, VariableSpan inputs) {
  if (!check_reads.load(std::memory_order_relaxed)) return;
  const SavedReads* reads = saved_reads(name);
  if (!reads) return;
  const std::int64_t captured = captured_inputs(vjp, inputs);
  const std::uint64_t listed = read_inputs(reads, inputs.size(), [](std::size_t) { return true; });
  if (captured >= 0 && static_cast<std::uint64_t>(captured) != listed)
    throw InternalError(std::string(name) + ": its backward rule captures inputs " +
                        input_list(static_cast<std::uint64_t>(captured)) + " but the saved-reads table lists " +
                        input_list(listed));
}

void set_check_saved_reads(bool on) { check_reads.store(on); }
}  // namespace detail

FunctionNode::FunctionNode(const char* name, NodeEdges next,
                           BackwardFn rule, Tensor saved_out, std::size_t out_ndim)
    : Node(name, std::move(next)), rule_(std::move(rule)), saved_out_(std::move(saved_out)),
      saved_out_version_(saved_out_.version()), out_ndim_(out_ndim) {}

FunctionNode::~FunctionNode() { take_saved(); }

void FunctionNode::save_input_versions(VariableSpan inputs, bool builtin) {
  reads_ = builtin ? detail::saved_reads(name_) : nullptr;
  const std::uint64_t mask = read_inputs(reads_, inputs.size(), [&](std::size_t i) { return next_[i] != nullptr; });
  for (std::size_t j = 0; j < inputs.size() && j < 64; ++j) {
    if (!(mask >> j & 1)) continue;
    const std::shared_ptr<Storage>& storage = inputs[j].data().storage();
    const SavedVersion v{storage.get(), storage->version(), static_cast<std::uint32_t>(j)};
    if (reads_ && n_versions_ < 2) {
      versions_[n_versions_++] = v;
    } else {
      if (!extra_) extra_ = std::make_unique<SavedExtra>();
      if (reads_) extra_->versions.push_back(v);
      else extra_->weak.emplace_back(storage, v);
    }
    if (storage->lender()) {
      if (!extra_) extra_ = std::make_unique<SavedExtra>();
      storage->lender()->hold();
      extra_->held.push_back(storage);
    }
  }
}

void FunctionNode::watch_saved_values(const std::vector<Tensor>& values) {
  if (values.empty()) return;
  if (!extra_) extra_ = std::make_unique<SavedExtra>();
  for (std::size_t k = 0; k < values.size(); ++k) {
    const std::shared_ptr<Storage>& storage = values[k].storage();
    extra_->weak.emplace_back(storage, SavedVersion{storage.get(), storage->version(),
                                                    static_cast<std::uint32_t>(k) | kSavedValue});
  }
}

void FunctionNode::check_versions(const std::vector<bool>& needs) const {
  auto stale = [this](const char* what, std::uint64_t now, std::uint64_t then) {
    return std::runtime_error(
        std::string(name_) + ": " + what + ", saved for backward, was modified in place after " + name_ +
        " computed with it: its version is " + std::to_string(now) + ", the backward rule expects version " +
        std::to_string(then) + " (an optimizer step, an in-place operator such as += or copy_ changed it); "
        "make in-place updates after backward, or compute the forward again");
  };
  if (saved_out_.defined() && saved_out_.version() != saved_out_version_)
    throw stale("its output", saved_out_.version(), saved_out_version_);
  if (!n_versions_ && !extra_) return;
  const std::uint64_t mask = read_inputs(reads_, needs.size(), [&](std::size_t i) { return needs[i]; });
  auto check = [&](const Storage& storage, const SavedVersion& v) {
    if (storage.version() == v.version) return;
    if (v.input & kSavedValue)
      throw stale(("value " + std::to_string(v.input & ~kSavedValue) + " it saved").c_str(), storage.version(),
                  v.version);
    if (mask >> v.input & 1) throw stale(("input " + std::to_string(v.input)).c_str(), storage.version(), v.version);
  };
  for (std::uint8_t i = 0; i < n_versions_; ++i) check(*versions_[i].storage, versions_[i]);
  if (!extra_) return;
  for (const SavedVersion& v : extra_->versions) check(*v.storage, v);
  for (const auto& [weak, v] : extra_->weak)
    if (std::shared_ptr<Storage> storage = weak.lock()) check(*storage, v);
}

FunctionNode::Saved FunctionNode::take_saved() {
  Saved saved;
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  released_ = true;
  if (running_) return saved;
  saved.rule = std::move(rule_);
  rule_ = nullptr;
  saved.extra = std::move(extra_);
  n_versions_ = 0;
  saved.out = std::move(saved_out_);
  saved_out_ = Tensor();
  saved.out_tangents = std::move(saved_out_tangents_);
  saved_out_tangents_.clear();
  return saved;
}

FunctionNode::Saved::~Saved() {
  rule = nullptr;  // its captures may own whole graphs: freed here, outside the lock
  if (extra)
    for (const std::shared_ptr<Storage>& storage : extra->held) storage->lender()->release();
}

std::vector<Variable> FunctionNode::apply(const Variable& gout, const std::vector<bool>& needs,
                                          bool retain) {
  if (static_cast<std::size_t>(gout.ndim()) < out_ndim_)
    throw InternalError(std::string(name_) + ": cotangent of shape " + shape_str(gout.shape()) +
                        " has fewer dimensions than the output");
  {
    std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
    if (released_ || claimed_)
      throw std::runtime_error(
          std::string(name_) +
          ": trying to backward through the graph a second time (its saved values were freed "
          "after the first backward); pass retain_graph=True to the first backward to keep them");
    check_versions(needs);
    if (!retain) claimed_ = true;
    ++running_;
  }
  // Leaves the run state consistent however the rule ends. A pass without retain
  // that succeeded frees the saved values (the last apply in progress does); one
  // that threw gives up its claim, so the graph can be backwarded again.
  struct Finish {
    FunctionNode* node;
    bool retain;
    bool ok = false;
    ~Finish() {
      bool free_now;
      {
        std::lock_guard<detail::SpinLock> lock(detail::stripe(node));
        --node->running_;
        if (!retain && ok) node->released_ = true;
        if (!retain && !ok) node->claimed_ = false;
        free_now = node->released_ && node->running_ == 0;
      }
      if (free_now) node->release();
    }
  } finish{this, retain};

  Variable out;
  if (saved_out_.defined()) {
    out = grad_enabled() ? make_result(saved_out_, shared_from_this()) : Variable(saved_out_);
    out.impl()->tangents = saved_out_tangents_;
  }
  const std::size_t lead = static_cast<std::size_t>(gout.ndim()) - out_ndim_;
  std::vector<Variable> grads = rule_(BackwardArgs{gout, out, needs, lead});
  finish.ok = true;
  return grads;
}

Tensor FunctionNode::saved_out() const {
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  return saved_out_;
}

void FunctionNode::drop_out_tangents(std::uint64_t level) {
  std::vector<std::pair<std::uint64_t, Variable>> dropped;  // destroyed outside the lock
  std::lock_guard<detail::SpinLock> lock(detail::stripe(this));
  if (running_) return;  // in use: the level's tangents go with the node's release
  for (auto it = saved_out_tangents_.begin(); it != saved_out_tangents_.end();)
    if (it->first == level) {
      dropped.push_back(std::move(*it));
      it = saved_out_tangents_.erase(it);
    } else {
      ++it;
    }
}

void FunctionNode::release() { take_saved(); }

AccumulateGrad::AccumulateGrad(const std::shared_ptr<VariableImpl>& leaf)
    : Node("AccumulateGrad", NodeEdges()), leaf_(leaf) {}

}  // namespace eigengrad
