#include "forward_levels.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include "eigengrad/variable.h"

namespace eigengrad {

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
}  // namespace

namespace detail {

VisibleLevels::VisibleLevels(std::size_t count) : previous_(tls_visible) { tls_visible = count; }
VisibleLevels::~VisibleLevels() { tls_visible = previous_; }

std::size_t visible_level_count() { return std::min(tls_visible, tls_levels.size()); }
std::uint64_t open_level(std::size_t k) { return tls_levels[k]; }

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

void register_saved_tangents(const std::shared_ptr<FunctionNode>& node,
                             const std::vector<std::pair<std::uint64_t, Variable>>& tangents) {
  for (const auto& [id, t] : tangents)
    for (std::size_t i = 0; i < tls_levels.size() && i < tls_level_nodes.size(); ++i)
      if (tls_levels[i] == id) tls_level_nodes[i].push_back(node);
}

}  // namespace detail


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

bool forward_levels_open() { return tls_visible > 0 && !tls_levels.empty(); }

bool needs_tangent(VariableSpan inputs) {
  if (tls_visible == 0 || tls_levels.empty()) return false;
  for (const Variable& x : inputs)
    if (!x.impl()->tangents.empty()) return true;
  return false;
}

}  // namespace eigengrad
