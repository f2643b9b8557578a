// Fused neural-network ops: the linear layer and the losses (see eigengrad/nn.h).
// Each backward rule has two paths: a fused kernel for a plain backward, and the
// same formula in differentiable ops when the rule's result must itself be
// differentiable (create_graph, forward over reverse) or carries batch dimensions.
// The losses' products with a cotangent or tangent are strong (Note [Strong zero]
// in kernels/strong_zero.h) on both paths; linear's matrix products are plain.
#include "eigengrad/nn.h"

#include "../dispatch.h"
#include "../kernels/nn_kernels.h"
#include "common.h"

namespace eigengrad {

using detail::fused_backward;
using detail::constant;
using detail::strong_mul;
using detail::swap_last;
using Grads = std::vector<Variable>;

Reduction parse_reduction(const std::string& name, const char* op) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw std::invalid_argument(std::string(op) + ": reduction must be 'mean', 'sum' or 'none', got '" +
                              name + "'");
}

namespace {

/// The per-element losses `per` reduced as asked.
Tensor reduce_loss(const Tensor& per, Reduction reduction) {
  if (reduction == Reduction::None) return per;
  const double n = static_cast<double>(per.numel());
  return kernels::scaled_total(per, reduction == Reduction::Mean ? 1.0 / n : 1.0);
}

/// The cotangent of each per-element loss, from the output cotangent `gout` (with
/// `lead` batch dimensions in front): unchanged for None, else spread over
/// `per_ndim` size-1 axes (and divided by the `n` elements for Mean).
Variable spread(const Variable& gout, Reduction reduction, std::int64_t n, std::size_t per_ndim, std::size_t lead) {
  if (reduction == Reduction::None) return gout;
  Shape shape(gout.shape().begin(), gout.shape().begin() + static_cast<std::ptrdiff_t>(lead));
  shape.insert(shape.end(), per_ndim, 1);
  Variable g = reshape(gout, shape);
  return reduction == Reduction::Mean ? g * (1.0 / static_cast<double>(n)) : g;
}

/// The tangent of the loss from the tangent `t` of the per-element losses (the
/// last `per_ndim` axes; batch dimensions in front pass through).
Variable reduce_tangent(const Variable& t, Reduction reduction, std::int64_t n, std::size_t per_ndim) {
  if (reduction == Reduction::None) return t;
  Dims axes;
  for (std::int64_t a = -static_cast<std::int64_t>(per_ndim); a < 0; ++a) axes.push_back(a);
  Variable total = sum(t, axes);
  return reduction == Reduction::Mean ? total * (1.0 / static_cast<double>(n)) : total;
}

/// The same spread as a tensor, for the fused kernels (no batch dimensions): a
/// single entry unless None.
Tensor spread_tensor(const Variable& gout, Reduction reduction, std::int64_t n) {
  if (reduction != Reduction::Mean) return gout.data();
  return kernels::scaled_total(gout.data(), 1.0 / static_cast<double>(n));
}

/// `a` + `b` where either may be undefined (a zero tangent).
Variable add_defined(const Variable& a, const Variable& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return a + b;
}

/// One-hot rows shaped like `logits`: 1 at each row's label, else 0.
Tensor onehot(const Variable& logits, const std::vector<std::int64_t>& labels) {
  Tensor out = Tensor::zeros(logits.shape(), logits.dtype());
  const std::int64_t classes = logits.shape().back();
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (std::size_t i = 0; i < labels.size(); ++i) out.data_as<T>()[i * classes + labels[i]] = T(1);
  });
  return out;
}

/// The three operands in their common dtype (b may be undefined).
void promote_all(Variable& x, Variable& W, Variable& b) {
  DType common = promote(x.dtype(), W.dtype());
  if (b.defined()) common = promote(common, b.dtype());
  x = astype(x, common);
  W = astype(W, common);
  if (b.defined()) b = astype(b, common);
}

}  // namespace

// linear(x, W, b) = x W^T + b over the rows of x (rows = leading dims flattened)
//   vjp: gx = gout W,  gW = gout^T x (summed over rows),  gb = sum(gout, rows)
//        (the fused path folds the transposes into the GEMMs instead of copying)
//   jvp: tout = tx W^T + x tW^T + tb
Variable linear(const Variable& x0, const Variable& W0, const Variable& b0) {
  const bool has_bias = b0.defined();
  if (W0.ndim() != 2 || x0.ndim() < 1 || x0.shape().back() != W0.shape()[1] ||
      (has_bias && (b0.ndim() != 1 || b0.shape()[0] != W0.shape()[0])))
    throw std::invalid_argument("linear: expected x (..., in), W (out, in) and b (out,); got x " +
                                shape_str(x0.shape()) + ", W " + shape_str(W0.shape()) + " and b " +
                                (has_bias ? shape_str(b0.shape()) : std::string("None")));
  Variable x = x0, W = W0, b = b0;
  promote_all(x, W, b);
  const std::int64_t in = W.shape()[1], out_features = W.shape()[0];
  std::int64_t rows = 1;
  for (std::int64_t d = 0; d + 1 < x.ndim(); ++d) rows *= x.shape()[d];
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);

  Tensor out = kernels::linear(x.data().view({rows, in}), W.data(), has_bias ? b.data() : Tensor());
  std::vector<Variable> inputs{x, W};
  if (has_bias) inputs.push_back(b);
  auto vjp = [x, W, rows, in, out_features](const BackwardArgs& a) -> Grads {
    Grads g(a.needs.size());
    if (fused_backward(a)) {
      Tensor g2 = a.gout.data().view({rows, out_features});
      if (a.need(0)) g[0] = constant(kernels::matmul(g2, W.data(), false, false).view(x.shape()));
      if (a.need(1)) g[1] = constant(kernels::matmul(g2, x.data().view({rows, in}), true, false));
      if (g.size() > 2 && a.need(2)) g[2] = constant(kernels::reduce(kernels::Reduce::Sum, g2, {0}, false));
      return g;
    }
    const Shape lead = a.lead_shape();
    Variable g2 = reshape(a.gout, detail::prefixed(lead, {rows, out_features}));
    if (a.need(0)) g[0] = reshape(matmul(g2, W), detail::prefixed(lead, x.shape()));
    if (a.need(1)) g[1] = matmul(swap_last(g2), reshape(x, {rows, in}));
    if (g.size() > 2 && a.need(2)) g[2] = sum(g2, Dims{-2});
    return g;
  };
  auto jvp = [x, W, has_bias, out_features](const JvpArgs& a) {
    const std::size_t n = static_cast<std::size_t>(x.ndim());
    Variable t;
    if (a.has(0)) t = linear(a.t(0), W);
    if (a.has(1)) t = add_defined(t, matmul(x, swap_last(detail::align(a.t(1), W.shape(), n))));
    if (has_bias && a.has(2)) t = add_defined(t, detail::align(a.t(2), {out_features}, n));
    return t;
  };
  return record("linear", out.view(out_shape), inputs, vjp, jvp);
}

// mse_loss(x, y) = reduce((x - y)^2)
//   vjp: gx = 2 (x - y) spread(gout),  gy = -gx
//   jvp: tout = reduce(2 (x - y) (tx - ty))
Variable mse_loss(const Variable& x0, const Variable& y0, Reduction reduction) {
  if (x0.shape() != y0.shape())
    throw std::invalid_argument("mse_loss: input shape " + shape_str(x0.shape()) + " and target shape " +
                                shape_str(y0.shape()) + " differ (broadcasting is not applied to losses)");
  auto [x, y] = detail::promote_pair(x0, y0);
  Tensor diff = kernels::binary(kernels::Binary::Sub, x.data(), y.data());
  Tensor per = kernels::unary(kernels::Unary::Square, diff);
  const std::int64_t n = x.numel();
  const std::size_t nd = static_cast<std::size_t>(x.ndim());
  return detail::record_op(
      "mse_loss", reduce_loss(per, reduction), {x, y},
      [x, y, reduction, n, nd](const BackwardArgs& a) -> Grads {
        Variable gx = strong_mul(spread(a.gout, reduction, n, nd, a.lead), x - y) * 2.0;
        return {a.need(0) ? gx : Variable(), a.need(1) ? neg(gx) : Variable()};
      },
      [x, y, reduction, n, nd](const JvpArgs& a) {
        Variable t = a.has(0) ? (a.has(1) ? a.t(0) - a.t(1) : a.t(0)) : neg(a.t(1));
        return reduce_tangent(strong_mul(t, x - y) * 2.0, reduction, n, nd);
      });
}

// cross_entropy(x, labels) = reduce(logsumexp(x, -1) - x[labels])  (rows of x)
//   vjp: gx = (softmax(x) - onehot(labels)) spread(gout)
//        (the fused path reuses the softmax computed by the forward kernel)
//   jvp: tout = reduce(sum((softmax(x) - onehot(labels)) tx, -1))
Variable cross_entropy(const Variable& logits, const std::vector<std::int64_t>& labels, Reduction reduction) {
  const std::int64_t nd = logits.ndim();
  if (nd != 1 && nd != 2)
    throw std::invalid_argument("cross_entropy: logits must have shape (N, C) or (C,), got " +
                                shape_str(logits.shape()));
  const std::int64_t rows = nd == 2 ? logits.shape()[0] : 1, classes = logits.shape().back();
  if (static_cast<std::int64_t>(labels.size()) != rows)
    throw std::invalid_argument("cross_entropy: " + std::to_string(labels.size()) + " labels for logits of shape " +
                                shape_str(logits.shape()) + " (one label per row: " + std::to_string(rows) +
                                " expected)");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw std::invalid_argument("cross_entropy: label " + std::to_string(labels[i]) + " (at index " +
                                  std::to_string(i) + ") is out of range for logits of shape " +
                                  shape_str(logits.shape()) + " (classes 0.." + std::to_string(classes - 1) +
                                  ")");
  Tensor probs;
  Tensor per = kernels::cross_entropy(logits.data().view({rows, classes}), labels, probs);
  const Shape per_shape = nd == 2 ? Shape{rows} : Shape{};
  const std::size_t per_ndim = per_shape.size();
  return detail::record_op(
      "cross_entropy", reduce_loss(per.view(per_shape), reduction), {logits},
      [logits, labels, probs, reduction, rows, per_ndim](const BackwardArgs& a) -> Grads {
        if (fused_backward(a)) {
          Tensor scale = spread_tensor(a.gout, reduction, rows);
          Tensor gx = kernels::cross_entropy_backward(probs, labels, scale, strong_zero_enabled());
          return {constant(gx.view(logits.shape()))};
        }
        // One more axis for the classes: the per-row cotangent broadcasts over them.
        Variable g = spread(a.gout, reduction, rows, per_ndim, a.lead);
        Shape with_classes = g.shape();
        with_classes.push_back(1);
        return {strong_mul(reshape(g, with_classes), softmax(logits, -1) - constant(onehot(logits, labels)))};
      },
      [logits, labels, reduction, rows, per_ndim](const JvpArgs& a) {
        Variable weights = softmax(logits, -1) - constant(onehot(logits, labels));
        return reduce_tangent(sum(strong_mul(a.t(0), weights), Dims{-1}), reduction, rows, per_ndim);
      });
}

// binary_cross_entropy_with_logits(x, y) = reduce(max(x, 0) - x y + log1p(e^-|x|))
//   vjp: gx = (sigmoid(x) - y) spread(gout),  gy = -x spread(gout)
//   jvp: tout = reduce((sigmoid(x) - y) tx - x ty)
Variable binary_cross_entropy_with_logits(const Variable& x0, const Variable& y0, Reduction reduction) {
  if (x0.shape() != y0.shape())
    throw std::invalid_argument("binary_cross_entropy_with_logits: logits shape " + shape_str(x0.shape()) +
                                " and target shape " + shape_str(y0.shape()) + " differ");
  auto [x, y] = detail::promote_pair(x0, y0);
  Tensor per = kernels::bce_with_logits(x.data(), y.data());
  const std::int64_t n = x.numel();
  const std::size_t nd = static_cast<std::size_t>(x.ndim());
  return detail::record_op(
      "binary_cross_entropy_with_logits", reduce_loss(per, reduction), {x, y},
      [x, y, reduction, n, nd](const BackwardArgs& a) -> Grads {
        Grads g(2);
        if (fused_backward(a)) {
          Tensor scale = spread_tensor(a.gout, reduction, n);
          if (a.need(0))
            g[0] = constant(kernels::bce_with_logits_backward(x.data(), y.data(), scale, strong_zero_enabled()));
          if (a.need(1)) g[1] = strong_mul(constant(scale), neg(x));
          return g;
        }
        Variable s = spread(a.gout, reduction, n, nd, a.lead);
        if (a.need(0)) g[0] = strong_mul(s, sigmoid(x) - y);
        if (a.need(1)) g[1] = strong_mul(s, neg(x));
        return g;
      },
      [x, y, reduction, n, nd](const JvpArgs& a) {
        Variable t;
        if (a.has(0)) t = strong_mul(a.t(0), sigmoid(x) - y);
        if (a.has(1)) t = add_defined(t, strong_mul(a.t(1), neg(x)));
        return reduce_tangent(t, reduction, n, nd);
      });
}

}  // namespace eigengrad
