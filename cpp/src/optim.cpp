// The optimizers: in-place updates of each parameter's buffer, element-wise over
// Eigen array maps, with their state (momentum, moments) held as Tensors. A large
// parameter's update is split over the threads (kernels::parallel_for: chunks of
// 64-element multiples, so each element is computed the same way at any thread
// count when the buffers are eigengrad's own, 64-byte aligned).
#include "eigengrad/optim.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <unordered_set>

#include "dispatch.h"
#include "kernels/eigen.h"
#include "kernels/parallel.h"

namespace eigengrad::optim {

using kernels::ArrayMap;
using kernels::ConstArrayMap;

namespace {

std::string str(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void check_nonnegative(const char* op, const char* name, double value) {
  if (!(value >= 0) || !std::isfinite(value))
    throw std::invalid_argument(std::string(op) + ": " + name + " must be a finite number >= 0, got " + str(value));
}

/// The gradient of a parameter (undefined when it has none), checked against it.
Tensor grad_of(const Variable& p, const char* op) {
  Variable g = p.grad();
  if (!g.defined()) return Tensor();
  if (g.shape() != p.shape() || g.dtype() != p.dtype())
    throw std::invalid_argument(std::string(op) + ": gradient of shape " + shape_str(g.shape()) + " (" +
                                dtype_name(g.dtype()) + ") for a parameter of shape " + shape_str(p.shape()) +
                                " (" + dtype_name(p.dtype()) + ")");
  return g.data();
}

/// Elements [begin, end) of `t` as an Eigen array.
template <class T>
ArrayMap<T> array(const Tensor& t, std::int64_t begin, std::int64_t end) {
  return ArrayMap<T>(t.data_as<T>() + begin, end - begin);
}

/// A copy of `t` for the state of parameter i (undefined stays undefined), checked
/// against the parameter: ValueError naming op, the entry, the shapes and dtypes.
Tensor state_copy(const std::vector<Variable>& params, std::size_t i, const Tensor& t, const char* op,
                  const char* entry) {
  if (i >= params.size())
    throw std::invalid_argument(std::string(op) + ": state for parameter " + std::to_string(i) + ", but there are " +
                                std::to_string(params.size()) + " parameters");
  if (!t.defined()) return Tensor();
  const Variable& p = params[i];
  if (t.shape() != p.shape() || t.dtype() != p.dtype())
    throw std::invalid_argument(std::string(op) + ": " + entry + " of parameter " + std::to_string(i) +
                                " has shape " + shape_str(t.shape()) + " (" + dtype_name(t.dtype()) +
                                "); the parameter has shape " + shape_str(p.shape()) + " (" +
                                dtype_name(p.dtype()) + ")");
  return t.clone();
}

}  // namespace

Optimizer::Optimizer(std::vector<Variable> params, const char* op) : params_(std::move(params)) {
  std::unordered_set<const VariableImpl*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Variable& p = params_[i];
    if (!p.defined()) throw std::invalid_argument(std::string(op) + ": parameter " + std::to_string(i) + " is undefined");
    if (!p.is_leaf())
      throw std::invalid_argument(std::string(op) + ": parameter " + std::to_string(i) +
                                  " is not a leaf (it was computed by " + p.grad_fn()->name() +
                                  "); optimize leaves, e.g. x.detach() with requires_grad");
    if (!seen.insert(p.impl().get()).second)
      throw std::invalid_argument(std::string(op) + ": parameter " + std::to_string(i) +
                                  " appears more than once");
  }
}

void Optimizer::zero_grad() {
  for (Variable& p : params_) p.set_grad(Variable());
}

// ---- SGD --------------------------------------------------------------------------

void SGDOptions::validate() const {
  check_nonnegative("SGD", "lr", lr);
  check_nonnegative("SGD", "momentum", momentum);
  check_nonnegative("SGD", "dampening", dampening);
  check_nonnegative("SGD", "weight_decay", weight_decay);
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw std::invalid_argument("SGD: nesterov momentum requires a momentum > 0 and zero dampening");
}

SGD::SGD(std::vector<Variable> params, SGDOptions options)
    : Optimizer(std::move(params), "SGD"), options_(options), momentum_(params_.size()) {
  options_.validate();
}

void SGD::set_options(const SGDOptions& options) {
  options.validate();
  options_ = options;
}

void SGD::set_momentum_buffer(std::size_t i, const Tensor& buffer) {
  Tensor copy = state_copy(params_, i, buffer, "SGD", "momentum_buffer");
  momentum_[i] = std::move(copy);
}

void SGD::step() {
  const SGDOptions& o = options_;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i].data();
    const Tensor g = grad_of(params_[i], "SGD");
    if (!g.defined()) continue;
    p.storage()->bump_version();  // an in-place write (Note [Version counter])
    const bool first = o.momentum != 0 && !momentum_[i].defined();
    if (first) momentum_[i] = Tensor(p.shape(), p.dtype());
    const Tensor& buffer = momentum_[i];
    dispatch(p.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T sign = o.maximize ? T(-1) : T(1), wd = T(o.weight_decay), lr = T(o.lr), mu = T(o.momentum);
      const T keep = T(1 - o.dampening);
      kernels::parallel_for(p.numel(), [&](std::int64_t begin, std::int64_t end) {
        ArrayMap<T> P = array<T>(p, begin, end);
        ConstArrayMap<T> G(g.data_as<T>() + begin, end - begin);
        if (o.momentum == 0) {
          if (o.weight_decay == 0) P -= (lr * sign) * G;
          else P -= lr * (sign * G + wd * P);
          return;
        }
        // d = the (signed, decayed) gradient; the buffer follows b <- mu b + (1 - dampening) d.
        ArrayMap<T> B = array<T>(buffer, begin, end);
        if (first) B = sign * G + wd * P;
        else B = mu * B + keep * (sign * G + wd * P);
        if (o.nesterov) P -= lr * (sign * G + wd * P + mu * B);
        else P -= lr * B;
      });
    });
  }
}

// ---- Adam / AdamW -----------------------------------------------------------------

void AdamOptions::validate() const {
  const char* op = decoupled_weight_decay ? "AdamW" : "Adam";
  check_nonnegative(op, "lr", lr);
  check_nonnegative(op, "eps", eps);
  check_nonnegative(op, "weight_decay", weight_decay);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw std::invalid_argument(std::string(op) + ": betas must be in [0, 1), got (" + str(beta1) + ", " +
                                str(beta2) + ")");
}

Adam::Adam(std::vector<Variable> params, AdamOptions options)
    : Optimizer(std::move(params), options.decoupled_weight_decay ? "AdamW" : "Adam"),
      options_(options),
      steps_(params_.size(), 0),
      exp_avg_(params_.size()),
      exp_avg_sq_(params_.size()),
      max_exp_avg_sq_(params_.size()) {
  options_.validate();
}

void Adam::set_options(const AdamOptions& options) {
  options.validate();
  options_ = options;
}

void Adam::set_state(std::size_t i, std::int64_t step, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                     const Tensor& max_exp_avg_sq) {
  const char* op = options_.decoupled_weight_decay ? "AdamW" : "Adam";
  Tensor m = state_copy(params_, i, exp_avg, op, "exp_avg");
  Tensor v = state_copy(params_, i, exp_avg_sq, op, "exp_avg_sq");
  Tensor vmax = state_copy(params_, i, max_exp_avg_sq, op, "max_exp_avg_sq");
  const std::string which = std::string(op) + ": parameter " + std::to_string(i);
  if (step < 0) throw std::invalid_argument(which + " has step " + std::to_string(step) + "; expected >= 0");
  if (step > 0 && (!m.defined() || !v.defined()))
    throw std::invalid_argument(which + " has step " + std::to_string(step) + " but no exp_avg and exp_avg_sq");
  if (step == 0 && (m.defined() || v.defined() || vmax.defined()))
    throw std::invalid_argument(which + " has step 0 but moments");
  steps_[i] = step;
  exp_avg_[i] = std::move(m);
  exp_avg_sq_[i] = std::move(v);
  max_exp_avg_sq_[i] = std::move(vmax);
}

void Adam::step() {
  const AdamOptions& o = options_;
  const char* op = o.decoupled_weight_decay ? "AdamW" : "Adam";
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i].data();
    const Tensor g = grad_of(params_[i], op);
    if (!g.defined()) continue;
    p.storage()->bump_version();  // an in-place write (Note [Version counter])
    if (!exp_avg_[i].defined()) {
      exp_avg_[i] = Tensor::zeros(p.shape(), p.dtype());
      exp_avg_sq_[i] = Tensor::zeros(p.shape(), p.dtype());
      if (o.amsgrad) max_exp_avg_sq_[i] = Tensor::zeros(p.shape(), p.dtype());
    }
    if (o.amsgrad && !max_exp_avg_sq_[i].defined())  // amsgrad switched on later
      max_exp_avg_sq_[i] = Tensor::zeros(p.shape(), p.dtype());
    const std::int64_t t = ++steps_[i];
    // The scalars in double, as PyTorch computes them in Python floats.
    const double bias1 = 1 - std::pow(o.beta1, static_cast<double>(t));
    const double bias2_sqrt = std::sqrt(1 - std::pow(o.beta2, static_cast<double>(t)));
    const double step_size = o.lr / bias1;
    // Note [Exact square roots]: a plain loop with std::sqrt, not Eigen's packet
    // sqrt, whose float version under EIGEN_FAST_MATH is an approximation that
    // differs from the scalar one; which elements take which path depends on the
    // buffer's alignment, so the same step could round differently run to run.
    dispatch(p.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* P = p.data_as<T>();
      T* M = exp_avg_[i].data_as<T>();
      T* V = exp_avg_sq_[i].data_as<T>();
      T* Vmax = o.amsgrad ? max_exp_avg_sq_[i].data_as<T>() : nullptr;
      const T* G = g.data_as<T>();
      const T sign = o.maximize ? T(-1) : T(1), wd = T(o.weight_decay);
      // 1 - beta is formed in double and rounded once (in float32, 1 - 0.999f is
      // 1.3e-5 away from 0.001: a bias in every step), as PyTorch does.
      const T one_minus_b1 = T(1 - o.beta1), b2 = T(o.beta2), one_minus_b2 = T(1 - o.beta2);
      const T eps = T(o.eps), bc2 = T(bias2_sqrt), step = T(step_size);
      const T decay = T(1 - o.lr * o.weight_decay);
      const bool l2 = !o.decoupled_weight_decay && o.weight_decay != 0;
      const bool decoupled = o.decoupled_weight_decay && o.weight_decay != 0;
      kernels::parallel_for(p.numel(), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) {
          if (decoupled) P[k] *= decay;
          const T gk = l2 ? sign * G[k] + wd * P[k] : sign * G[k];
          M[k] += one_minus_b1 * (gk - M[k]);  // lerp towards g, as torch.lerp_
          V[k] = b2 * V[k] + one_minus_b2 * gk * gk;
          T v = V[k];
          if (Vmax) v = Vmax[k] = std::max(Vmax[k], v);
          P[k] -= step * M[k] / (std::sqrt(v) / bc2 + eps);
        }
      });
    });
  }
}

}  // namespace eigengrad::optim
