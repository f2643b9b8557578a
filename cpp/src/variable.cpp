#include "eigengrad/variable.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <string_view>
#include <unordered_map>

#include "counters.h"
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
// Per open level (parallel to tls_levels): the nodes that saved a tangent of it.
thread_local std::vector<std::vector<std::weak_ptr<FunctionNode>>> tls_level_nodes;
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
    // The rule sees the output through a handle of its own (same values, same node,
    // the outer levels' tangents so far): a rule using `out` then captures that
    // handle, not the result's, and the result's tangent does not keep the result
    // alive in a cycle (Note [Forward over reverse]).
    Variable out = result.grad_fn() ? make_result(result.data(), result.grad_fn()) : Variable(result.data());
    out.impl()->tangents = result.impl()->tangents;
    VisibleLevels only_outer(k);
    Variable tout = jvp(JvpArgs{tangents, out, lead});
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
// every backward through it does (unless retain_graph), or until the forward level
// closes: ~ForwardLevel drops the tangents of that level that nodes saved (they
// cannot be read again), so a graph abandoned mid-way (an exception between the
// forward and the backward pass) is freed too. A JVP rule that uses `out` gets a separate handle on the output, so the
// tangent stored on the result never refers back to the result's own state: that
// cycle (result -> tangent -> rule's captures -> result) would outlive every
// backward.

Shape JvpArgs::lead_shape() const {
  for (const Variable& t : tangents)
    if (t.defined()) return Shape(t.shape().begin(), t.shape().begin() + lead);
  return Shape();
}

ForwardLevel::ForwardLevel() : id_(next_level_id++) {
  tls_levels.push_back(id_);
  tls_level_nodes.emplace_back();
  tls_visible = tls_levels.size();
}

ForwardLevel::~ForwardLevel() {
  std::vector<std::weak_ptr<FunctionNode>> nodes;
  for (std::size_t i = tls_levels.size(); i-- > 0;)
    if (tls_levels[i] == id_) {
      tls_levels.erase(tls_levels.begin() + static_cast<std::ptrdiff_t>(i));
      if (i < tls_level_nodes.size()) {
        nodes = std::move(tls_level_nodes[i]);
        tls_level_nodes.erase(tls_level_nodes.begin() + static_cast<std::ptrdiff_t>(i));
      }
      break;
    }
  tls_visible = tls_levels.size();
  // A closed level's tangents are never read again: dropping those the nodes saved
  // breaks the node -> tangent -> node cycles of Note [Forward over reverse].
  for (const std::weak_ptr<FunctionNode>& weak : nodes)
    if (std::shared_ptr<FunctionNode> node = weak.lock()) node->drop_out_tangents(id_);
}

namespace {
/// Remembers that `node` saved tangents of these levels (see ~ForwardLevel).
void register_saved_tangents(const std::shared_ptr<FunctionNode>& node,
                             const std::vector<std::pair<std::uint64_t, Variable>>& tangents) {
  for (const auto& [id, t] : tangents)
    for (std::size_t i = 0; i < tls_levels.size() && i < tls_level_nodes.size(); ++i)
      if (tls_levels[i] == id) tls_level_nodes[i].push_back(node);
}
}  // namespace

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

// ---- threads ------------------------------------------------------------------

// Note [Threads]
// Several threads may record and backward graphs at once, also graphs that share
// nodes and leaves. What they share is guarded so that the single-threaded path
// pays an uncontended lock at most:
//  - a leaf's accumulator is made with the leaf (never lazily), so reading it needs
//    no lock; a leaf's `.grad` is read and replaced under a lock, and AccumulateGrad
//    computes the new sum outside the lock, retrying if another thread got in first,
//    so concurrent backward passes into one leaf add up exactly;
//  - a FunctionNode's run state (applies in progress, claimed, released) changes
//    under a lock, but its rule runs outside it: backward passes that retain the
//    graph run a shared node concurrently; one that does not claims the node first,
//    so of several passes over a shared graph without retain_graph exactly one runs
//    it and the others raise the retain_graph error; the saved values are freed when
//    the last apply in progress ends.
// The locks are striped by address (no per-object mutex) and never held while a rule,
// a hook or any Python code runs, nor while waiting for the GIL.

namespace {
/// A lock for critical sections of a few instructions (never held across a rule, a
/// hook, an allocation-heavy call or a wait for the GIL): cheaper than a mutex
/// when uncontended, and it yields instead of spinning hard when contended.
class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

struct alignas(64) Stripe {
  SpinLock lock;
};

SpinLock& stripe(const void* p) {
  static Stripe stripes[64];
  return stripes[(reinterpret_cast<std::uintptr_t>(p) >> 6) % 64].lock;
}
}  // namespace

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
  std::lock_guard<SpinLock> lock(stripe(impl_.get()));
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
  std::lock_guard<SpinLock> lock(stripe(impl_.get()));
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

void Variable::backward(const Variable& grad, std::optional<bool> retain_graph, bool create_graph) const {
  eigengrad::backward({*this}, {grad}, retain_graph, create_graph);
}

Variable Variable::detach() const { return Variable(data()); }

void Variable::copy_(const Variable& value) const {
  const Tensor& dst = data();
  if (requires_grad() && grad_enabled())
    throw std::runtime_error(
        "copy_: an in-place update of a Variable that requires grad would not be recorded; make "
        "it with grad mode off (with eg.no_grad(): ...) or compute a new Variable instead");
  Tensor src;
  {
    NoGradGuard no_grad;
    Variable v = value.shape() == dst.shape() ? value : broadcast_to(value, dst.shape());
    src = v.data().to(dst.dtype());
  }
  const std::size_t n = static_cast<std::size_t>(dst.numel()) * itemsize(dst.dtype());
  if (n && src.data() != dst.data()) std::memmove(dst.data(), src.data(), n);
  dst.storage()->bump_version();
}

std::shared_ptr<Node> Variable::gradient_edge() const {
  const VariableImpl& impl = checked(impl_);
  if (impl.grad_fn) return impl.grad_fn;
  if (!impl.requires_grad) return nullptr;
  if (impl.grad_accumulator) return impl.grad_accumulator;
  std::lock_guard<SpinLock> lock(stripe(impl_.get()));  // only if made without one
  if (!impl.grad_accumulator) impl_->grad_accumulator = std::make_shared<AccumulateGrad>(impl_);
  return impl.grad_accumulator;
}

int Variable::register_hook(std::function<Variable(const Variable&)> hook) const {
  std::shared_ptr<Node> node = gradient_edge();
  if (!node)
    throw std::runtime_error("register_hook: the Variable does not require grad, so no gradient reaches it");
  return node->add_hook(std::move(hook));
}

bool Variable::remove_hook(int id) const {
  std::shared_ptr<Node> node = gradient_edge();
  return node && node->remove_hook(id);
}

// ---- Nodes --------------------------------------------------------------------

namespace detail {
std::int64_t live_nodes() { return total(&Counts::nodes); }
}  // namespace detail

Node::Node(const char* name, std::vector<std::shared_ptr<Node>> next)
    : name_(name), next_(std::move(next)) {
  detail::count(detail::thread_counts(), &detail::Counts::nodes, 1);
}

int Node::add_hook(GradHook hook) {
  static std::atomic<int> next_id{1};
  const int id = next_id++;
  std::lock_guard<SpinLock> lock(stripe(this));
  if (!hooks_) hooks_ = std::make_unique<std::vector<std::pair<int, GradHook>>>();
  hooks_->emplace_back(id, std::move(hook));
  has_hooks_.store(true, std::memory_order_release);
  return id;
}

bool Node::remove_hook(int id) {
  GradHook removed;  // destroyed outside the lock (it may hold a Python object)
  std::lock_guard<SpinLock> lock(stripe(this));
  if (!hooks_) return false;
  for (auto it = hooks_->begin(); it != hooks_->end(); ++it)
    if (it->first == id) {
      removed = std::move(it->second);
      hooks_->erase(it);
      has_hooks_.store(!hooks_->empty(), std::memory_order_release);
      return true;
    }
  return false;
}

void Node::visit_hooks(const std::function<void(const GradHook&)>& fn) const {
  std::lock_guard<SpinLock> lock(stripe(this));
  if (hooks_)
    for (const auto& [id, hook] : *hooks_) fn(hook);
}

void Node::clear_hooks() {
  std::unique_ptr<std::vector<std::pair<int, GradHook>>> removed;  // destroyed outside the lock
  std::lock_guard<SpinLock> lock(stripe(this));
  removed = std::move(hooks_);
  has_hooks_.store(false, std::memory_order_release);
}

Variable Node::run_hooks(Variable gout) {
  std::vector<std::pair<int, GradHook>> hooks;
  {
    std::lock_guard<SpinLock> lock(stripe(this));
    if (hooks_) hooks = *hooks_;
  }
  for (auto& [id, hook] : hooks) {
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

constexpr std::uint32_t kNone = 0, kX = 1, kY = 2, kXY = 3;
const SavedReads kReadsNothing{{kNone, kNone, kNone, kNone}};
const SavedReads kReadsX{{kX, kNone, kNone, kNone}};

/// Bit set of the inputs that the gradients selected by `wanted` (one flag per input) read.
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
std::int64_t captured_inputs(const BackwardFn& vjp, const std::vector<Variable>& inputs) {
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
const SavedReads* saved_reads(const char* op) {
  // Per op: for each input's gradient, the inputs whose values it reads. Ops that
  // use their output instead (exp, tanh, softmax, ...) or only shapes read nothing.
  static const std::unordered_map<std::string_view, SavedReads> table = {
      {"log", kReadsX}, {"abs", kReadsX}, {"sin", kReadsX}, {"cos", kReadsX},
      {"log1p", kReadsX}, {"square", kReadsX}, {"clip", kReadsX},
      {"max", kReadsX}, {"min", kReadsX}, {"logsumexp", kReadsX}, {"norm", kReadsX},
      {"cross_entropy", kReadsX},
      {"mul", {{kY, kX, kNone, kNone}}},
      {"matmul", {{kY, kX, kNone, kNone}}},
      {"div", {{kY, kY, kNone, kNone}}},
      {"pow", {{kXY, kX, kNone, kNone}}},
      {"maximum", {{kXY, kXY, kNone, kNone}}},
      {"minimum", {{kXY, kXY, kNone, kNone}}},
      {"mse_loss", {{kXY, kXY, kNone, kNone}}},
      {"binary_cross_entropy_with_logits", {{kXY, kX, kNone, kNone}}},
      {"linear", {{kY, kX, kNone, kNone}}},
      {"neg", kReadsNothing}, {"exp", kReadsNothing}, {"sqrt", kReadsNothing},
      {"tanh", kReadsNothing}, {"sigmoid", kReadsNothing}, {"relu", kReadsNothing},
      {"expm1", kReadsNothing}, {"sign", kReadsNothing}, {"add", kReadsNothing},
      {"sub", kReadsNothing}, {"where", kReadsNothing}, {"astype", kReadsNothing},
      {"sum", kReadsNothing}, {"sum_to", kReadsNothing}, {"reshape", kReadsNothing},
      {"transpose", kReadsNothing}, {"broadcast_to", kReadsNothing}, {"slice", kReadsNothing},
      {"slice_backward", kReadsNothing}, {"take", kReadsNothing}, {"take_backward", kReadsNothing},
      {"concatenate", kReadsNothing}, {"alias", kReadsNothing}, {"copy", kReadsNothing}, {"softmax", kReadsNothing},
      {"log_softmax", kReadsNothing},
  };
  // Op names are string literals: remember the last few lookups by address.
  thread_local std::pair<const char*, const SavedReads*> cache[16] = {};
  auto& slot = cache[(reinterpret_cast<std::uintptr_t>(op) >> 3) % 16];
  if (slot.first == op) return slot.second;
  auto it = table.find(op);
  const SavedReads* found = it == table.end() ? nullptr : &it->second;
  slot = {op, found};
  return found;
}

void set_check_saved_reads(bool on) { check_reads.store(on); }
}  // namespace detail

FunctionNode::FunctionNode(const char* name, std::vector<std::shared_ptr<Node>> next,
                           BackwardFn rule, Tensor saved_out, std::size_t out_ndim)
    : Node(name, std::move(next)), rule_(std::move(rule)), saved_out_(std::move(saved_out)),
      saved_out_version_(saved_out_.version()), out_ndim_(out_ndim) {}

FunctionNode::~FunctionNode() { take_saved(); }

void FunctionNode::save_input_versions(const std::vector<Variable>& inputs) {
  reads_ = detail::saved_reads(name_);
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
  std::lock_guard<SpinLock> lock(stripe(this));
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
    std::lock_guard<SpinLock> lock(stripe(this));
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
        std::lock_guard<SpinLock> lock(stripe(node));
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

void FunctionNode::drop_out_tangents(std::uint64_t level) {
  std::vector<std::pair<std::uint64_t, Variable>> dropped;  // destroyed outside the lock
  std::lock_guard<SpinLock> lock(stripe(this));
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
    : Node("AccumulateGrad", {}), leaf_(leaf) {}

std::vector<Variable> AccumulateGrad::apply(const Variable& gout, const std::vector<bool>&,
                                            bool) {
  std::shared_ptr<VariableImpl> leaf = leaf_.lock();
  if (!leaf) return {};
  if (gout.shape() != leaf->data.shape() || gout.dtype() != leaf->data.dtype())
    throw InternalError("AccumulateGrad: gradient of shape " + shape_str(gout.shape()) +
                        " for a leaf of shape " + shape_str(leaf->data.shape()));
  // The sum is computed outside the lock and stored only if no other thread has
  // stored one meanwhile; otherwise it is computed again (Note [Threads]).
  SpinLock& lock = stripe(leaf.get());
  for (;;) {
    Variable old;
    {
      std::lock_guard<SpinLock> guard(lock);
      old = leaf->grad;
    }
    Variable updated;
    // create_graph keeps the gradient's own graph (a differentiable copy when shared).
    updated = old.defined() ? add(old, gout) : detail::with_own_buffer(gout, grad_enabled());
    std::lock_guard<SpinLock> guard(lock);
    if (leaf->grad.same(old)) {
      std::swap(leaf->grad, updated);  // the old gradient dies outside the lock
      break;
    }
  }
  return {};
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
    if (check_reads.load(std::memory_order_relaxed)) {
      if (const SavedReads* reads = detail::saved_reads(name)) {
        const std::int64_t captured = captured_inputs(vjp, inputs);
        const std::uint64_t listed = read_inputs(reads, inputs.size(), [](std::size_t) { return true; });
        if (captured >= 0 && static_cast<std::uint64_t>(captured) != listed)
          throw InternalError(std::string(name) + ": its backward rule captures inputs " +
                              input_list(static_cast<std::uint64_t>(captured)) +
                              " but the saved-reads table lists " + input_list(listed));
      }
    }
    std::vector<std::shared_ptr<Node>> next;
    next.reserve(inputs.size());
    for (const Variable& x : inputs) next.push_back(x.requires_grad() ? x.gradient_edge() : nullptr);
    auto node = std::make_shared<FunctionNode>(name, std::move(next), std::move(vjp),
                                               save_out ? out : Tensor(),
                                               static_cast<std::size_t>(out.ndim()));
    node->save_input_versions(inputs);
    result = make_result(out, node);
    if (needs_tangent(inputs)) {
      attach_tangents(name, result, inputs, jvp);
      if (save_out && !result.impl()->tangents.empty()) {
        node->save_out_tangents(result.impl()->tangents);
        register_saved_tangents(node, result.impl()->tangents);
      }
    }
    return result;
  }
  result = Variable(out);
  if (needs_tangent(inputs)) attach_tangents(name, result, inputs, jvp);
  return result;
}

}  // namespace eigengrad
