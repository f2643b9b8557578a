// eigengrad: gradient telemetry recorded by the engine during a backward pass.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "eigengrad/variable.h"

namespace eigengrad {

/// Telemetry of backward passes, collected by the engine while the monitor is
/// active on the calling thread (start() .. stop(), or a MonitorScope):
///  - per leaf that receives a gradient: the L2 norm and the largest |value| of its
///    .grad after the pass (computed right after accumulation, in one read);
///  - per activation node the pass runs through (relu, sigmoid, tanh): the fraction
///    of dead units (relu output == 0) and of saturated units (local derivative
///    below 1e-3: sigmoid out (1 - out), tanh 1 - out^2), from the saved output;
///  - the first op whose output was not finite in the forward (ops recorded while
///    active) and the first node whose backward rule produced a non-finite
///    cotangent, each with the line of user code that created it when a line
///    source is installed.
/// Each backward or grad() pass replaces the parameter and activation entries (the
/// last pass is what is reported); the first non-finite entries are kept.
///
/// One monitor per thread at a time: start() raises RuntimeError when a monitor is
/// already active on the thread (nesting is an error), and a backward run on
/// another thread records nothing. Off (no monitor active), the engine and record()
/// pay one thread-local load per pass or op.
class GradMonitor {
 public:
  /// Where user code stands ("file:line"); called only while active, for every node
  /// recorded and for non-finite outputs; null or empty when unknown. It is called
  /// once per op, so it should be cheap: a shared string lets nodes made on the same
  /// line share one copy.
  using LineSource = std::function<std::shared_ptr<const std::string>()>;

  struct Parameter {
    std::string label;  // the name given with name_parameter, else "#k" by first appearance
    const VariableImpl* leaf = nullptr;  // identifies the leaf (not owned; may be gone)
    Shape shape;
    double norm = 0, max_abs = 0;
  };
  struct Activation {
    std::string op;  // "relu", "sigmoid" or "tanh"
    Shape shape;
    double dead = 0, saturated = 0;  // fractions of the output's elements
    std::string where;               // the creating line, if known
  };
  struct NonFinite {
    bool found = false;
    std::string op, where;
  };

  explicit GradMonitor(LineSource line_source = nullptr);
  ~GradMonitor();
  GradMonitor(const GradMonitor&) = delete;
  GradMonitor& operator=(const GradMonitor&) = delete;

  /// Makes this the calling thread's monitor; RuntimeError when one is active.
  void start();
  /// Ends start(); RuntimeError unless this is the calling thread's active monitor.
  void stop();
  bool active() const;
  /// Reports the leaf `parameter` under `name` (not a leaf requiring grad: ValueError).
  void name_parameter(const Variable& parameter, const std::string& name);

  /// In the order the backward reached the leaves.
  std::vector<Parameter> parameters() const;
  /// In the order the forward created them (the reverse of the backward's order).
  std::vector<Activation> activations() const;
  const NonFinite& forward_nonfinite() const { return forward_; }
  const NonFinite& backward_nonfinite() const { return backward_; }
  std::int64_t passes() const { return passes_; }

  // Called by the engine and record() (detail::active_monitor()).
  void begin_pass();
  void end_pass() { --in_backward_; }
  void on_recorded(const char* op, const Tensor& out, Node* node);
  void on_node(const Node& node);
  void on_cotangents(const Node& node, const std::vector<Variable>& grads);
  void on_accumulated(const VariableImpl& leaf, const Tensor& grad);

 private:
  LineSource line_source_;
  bool started_ = false;
  int in_backward_ = 0;  // passes running (a hook may run a backward inside one)
  std::int64_t passes_ = 0;
  std::int64_t unnamed_ = 0;
  // Note [Few allocations per pass]
  // A monitor is typically made anew for every training step, so what the engine
  // reports is stored with few allocations: the leaves in one vector (found by a
  // linear search while there are few, through leaf_index_ past kIndexedLeaves), the
  // rows' shapes in one vector of dims, and the "#k" labels made only when
  // parameters() is read.
  struct Leaf {
    const VariableImpl* key = nullptr;
    std::string name;  // given with name_parameter
    bool named = false;
    std::int64_t number = -1;  // unnamed: "#number", by first appearance
    std::int64_t pass = -1;    // the pass of `row`
    std::size_t row = 0;       // its row in rows_
  };
  struct Row {
    std::size_t leaf;        // in leaves_
    std::size_t dims, ndim;  // the shape: dims_[dims, dims + ndim)
    double norm, max_abs;
  };
  static constexpr std::size_t kIndexedLeaves = 32;
  Leaf& leaf_entry(const VariableImpl* key);
  std::vector<Leaf> leaves_;  // in first-appearance order
  std::unordered_map<const VariableImpl*, std::size_t> leaf_index_;
  std::vector<Row> rows_;  // this pass's, by first accumulation
  std::vector<std::int64_t> dims_;
  std::vector<Activation> activations_;  // backward order
  NonFinite forward_, backward_;
};

/// RAII: start() for a scope, stop() at its end.
class MonitorScope {
 public:
  explicit MonitorScope(GradMonitor& monitor) : monitor_(monitor) { monitor_.start(); }
  ~MonitorScope() { monitor_.stop(); }
  MonitorScope(const MonitorScope&) = delete;
  MonitorScope& operator=(const MonitorScope&) = delete;

 private:
  GradMonitor& monitor_;
};

namespace detail {
/// The calling thread's active monitor, or null (one thread-local load).
GradMonitor* active_monitor();
}  // namespace detail

}  // namespace eigengrad
