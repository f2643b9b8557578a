// eigengrad: first-order optimizers. Their steps update each parameter's buffer in
// place (the Tensor behind the leaf Variable; views of it, such as NumPy arrays,
// see the change), record no graph, and skip parameters whose gradient is
// undefined. The update formulas are PyTorch's (torch.optim, single-tensor path).
//
// Like PyTorch, nothing checks that a parameter is not also saved in a graph that
// has yet to run backward: step after backward, not between forward and backward.
#pragma once

#include <cstdint>
#include <vector>

#include "eigengrad/variable.h"

namespace eigengrad::optim {

/// A list of distinct parameters. Throws ValueError (naming `op`) on an undefined
/// Variable, a non-leaf or a parameter given twice.
class Optimizer {
 public:
  Optimizer(std::vector<Variable> params, const char* op);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  virtual void step() = 0;
  /// Drops every parameter's gradient (set to undefined, as PyTorch's default).
  void zero_grad();
  const std::vector<Variable>& params() const { return params_; }

 protected:
  std::vector<Variable> params_;
};

/// Hyperparameters of SGD (torch.optim.SGD's names and defaults, lr required).
struct SGDOptions {
  double lr = 0;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
  /// Throws ValueError naming the bad value: lr, momentum, dampening, weight_decay
  /// must be >= 0 (and finite); nesterov needs momentum > 0 and dampening == 0.
  void validate() const;
};

/// Stochastic gradient descent with momentum, per parameter p with gradient g:
///   g <- g + weight_decay p                      (L2 penalty, when nonzero)
///   b <- g on the first step, else momentum b + (1 - dampening) g
///   g <- g + momentum b if nesterov, else b      (when momentum is nonzero)
///   p <- p - lr g                                (p + lr g when maximize)
class SGD final : public Optimizer {
 public:
  SGD(std::vector<Variable> params, SGDOptions options);
  void step() override;
  const SGDOptions& options() const { return options_; }
  /// Replaces the hyperparameters (validated first; nothing changes on error).
  void set_options(const SGDOptions& options);
  /// The momentum buffer of parameter i (undefined before its first step).
  const Tensor& momentum_buffer(std::size_t i) const { return momentum_.at(i); }
  /// Sets the momentum buffer of parameter i to a copy of `buffer` (undefined: none,
  /// so the next step starts it from the gradient), for resuming from a checkpoint.
  /// Throws ValueError when i is out of range or the buffer's shape or dtype is not
  /// the parameter's.
  void set_momentum_buffer(std::size_t i, const Tensor& buffer);

 private:
  SGDOptions options_;
  std::vector<Tensor> momentum_;
};

/// Hyperparameters of Adam and AdamW (torch.optim's names and defaults).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  /// AdamW: decay the parameter directly instead of adding an L2 term to g.
  bool decoupled_weight_decay = false;
  /// Throws ValueError naming the bad value: lr, eps, weight_decay >= 0 and finite,
  /// betas in [0, 1).
  void validate() const;
};

/// Adam (and AdamW with decoupled_weight_decay), per parameter p with gradient g
/// and its own step count t (parameters without a gradient do not count a step):
///   p <- p (1 - lr weight_decay)         AdamW;   g <- g + weight_decay p   Adam
///   m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2
///   v' = max(v', v) with amsgrad, else v
///   p <- p - lr / (1 - beta1^t) * m / (sqrt(v') / sqrt(1 - beta2^t) + eps)
class Adam final : public Optimizer {
 public:
  Adam(std::vector<Variable> params, AdamOptions options);
  void step() override;
  const AdamOptions& options() const { return options_; }
  void set_options(const AdamOptions& options);
  /// The state of parameter i: steps taken, m, v and max v (undefined before use).
  std::int64_t step_count(std::size_t i) const { return steps_.at(i); }
  const Tensor& exp_avg(std::size_t i) const { return exp_avg_.at(i); }
  const Tensor& exp_avg_sq(std::size_t i) const { return exp_avg_sq_.at(i); }
  const Tensor& max_exp_avg_sq(std::size_t i) const { return max_exp_avg_sq_.at(i); }
  /// Sets the state of parameter i to `step` and copies of the moments, for resuming
  /// from a checkpoint (undefined tensors: none yet). Throws ValueError, changing
  /// nothing, when i is out of range, step < 0, the moments are missing for step > 0
  /// (or given for step 0), or a tensor's shape or dtype is not the parameter's.
  void set_state(std::size_t i, std::int64_t step, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq);

 private:
  AdamOptions options_;
  std::vector<std::int64_t> steps_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_, max_exp_avg_sq_;
};

}  // namespace eigengrad::optim
