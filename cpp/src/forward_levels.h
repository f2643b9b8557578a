// The per-thread stack of open forward-mode levels (Note [Forward levels]) and the
// tangents Variables carry at them: what recording an op (ops/record.cpp) and the
// forward-mode functions (ops/variable_methods.cpp) need beyond variable.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace eigengrad {
class Variable;
class FunctionNode;
}  // namespace eigengrad

namespace eigengrad::detail {

/// The tangent of `x` at `level`, or an undefined Variable.
Variable find_tangent(const Variable& x, std::uint64_t level);
/// Sets (or replaces) the tangent of `x` at `level`.
void set_tangent(const Variable& x, std::uint64_t level, Variable t);
/// The leading batch dimensions of tangent `t` of input `x`, or ValueError naming `op`.
std::size_t tangent_lead(const char* op, const Variable& x, const Variable& t);

/// How many of this thread's open levels an op's tangents are computed at now
/// (all of them, but fewer while a JVP rule runs), and the id of the k-th, outermost first.
std::size_t visible_level_count();
std::uint64_t open_level(std::size_t k);

/// While alive, only the `count` outermost open levels are visible.
class VisibleLevels {
 public:
  explicit VisibleLevels(std::size_t count);
  ~VisibleLevels();
  VisibleLevels(const VisibleLevels&) = delete;
  VisibleLevels& operator=(const VisibleLevels&) = delete;

 private:
  std::size_t previous_;
};

/// Remembers that `node` saved tangents of these levels (see ~ForwardLevel).
void register_saved_tangents(const std::shared_ptr<FunctionNode>& node,
                             const std::vector<std::pair<std::uint64_t, Variable>>& tangents);

}  // namespace eigengrad::detail
