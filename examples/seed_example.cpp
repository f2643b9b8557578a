// The source text's example with the C++ API alone:
//   y = W x + b,  z = sigmoid(y),  L = sum(z)
// backpropagation gives dL/dW with W's shape (denominator layout),
//   dL/dW = (dL/dz * sigma'(y)) x^T,  sigma'(y) = sigma(y) (1 - sigma(y)),
// and one gradient-descent step W <- W - lr dL/dW, b <- b - lr dL/db lowers L.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "eigengrad/eigengrad.h"

namespace eg = eigengrad;

namespace {

eg::Variable loss(const eg::Variable& W, const eg::Variable& x, const eg::Variable& b) {
  return eg::sum(eg::sigmoid(eg::matmul(W, x) + b));
}

// dL/dW by hand, row-major: dL/dW_ij = s_i (1 - s_i) x_j with s = sigmoid(W x + b).
std::vector<double> hand_grad_w(const eg::Variable& W, const eg::Variable& x,
                                const eg::Variable& b) {
  const std::vector<double> w = W.data().to_vector(), xv = x.data().to_vector(),
                            bv = b.data().to_vector();
  const std::size_t m = bv.size(), n = xv.size();
  std::vector<double> g(m * n);
  for (std::size_t i = 0; i < m; ++i) {
    double y = bv[i];
    for (std::size_t j = 0; j < n; ++j) y += w[i * n + j] * xv[j];
    const double s = 1.0 / (1.0 + std::exp(-y));
    for (std::size_t j = 0; j < n; ++j) g[i * n + j] = s * (1.0 - s) * xv[j];
  }
  return g;
}

// A new leaf p - lr * g, computed without recording a graph.
eg::Variable descend(const eg::Variable& p, const eg::Variable& g, double lr) {
  eg::NoGradGuard no_grad;
  return eg::Variable((p - g * lr).data(), /*requires_grad=*/true);
}

}  // namespace

int main() {
  int failures = 0;
  auto check = [&failures](bool ok, const std::string& what) {
    std::printf("  [%s] %s\n", ok ? "ok" : "FAILED", what.c_str());
    if (!ok) ++failures;
  };

  eg::Variable W(eg::Tensor::from_vector({0.1, -0.2, 0.3, 0.4,  //
                                          -0.5, 0.6, -0.7, 0.8,  //
                                          0.9, -1.0, 1.1, -1.2},
                                         {3, 4}),
                 /*requires_grad=*/true);
  eg::Variable x(eg::Tensor::from_vector({1.0, -2.0, 0.5, 3.0}, {4}));
  eg::Variable b(eg::Tensor::from_vector({0.1, -0.1, 0.2}, {3}), /*requires_grad=*/true);

  eg::Variable L = loss(W, x, b);
  std::printf("L = sum(sigmoid(W x + b)) = %.10f\n", L.item());
  L.backward();

  const eg::Variable gW = W.grad(), gb = b.grad();
  std::printf("W.grad shape %s (W %s), b.grad shape %s (b %s)\n", eg::shape_str(gW.shape()).c_str(),
              eg::shape_str(W.shape()).c_str(), eg::shape_str(gb.shape()).c_str(),
              eg::shape_str(b.shape()).c_str());
  check(gW.shape() == W.shape() && gb.shape() == b.shape(), "gradients have their variables' shapes");

  const std::vector<double> autodiff = gW.data().to_vector(), by_hand = hand_grad_w(W, x, b);
  double worst = 0;
  for (std::size_t i = 0; i < by_hand.size(); ++i)
    worst = std::fmax(worst, std::fabs(autodiff[i] - by_hand[i]));
  std::printf("max |W.grad - (dL/dz * sigma'(y)) x^T| = %.3g\n", worst);
  check(autodiff.size() == by_hand.size() && worst < 1e-12, "W.grad matches the hand formula");

  // Gradient descent on L: step against the gradient.
  const double lr = 0.5;
  eg::Variable W1 = descend(W, gW, lr), b1 = descend(b, gb, lr);
  eg::Variable L1 = loss(W1, x, b1);
  std::printf("after one step with lr = %g: L = %.10f (change %.3g)\n", lr, L1.item(),
              L1.item() - L.item());
  check(L1.item() < L.item(), "L decreased");
  check(W1.is_leaf() && W1.requires_grad() && !W1.grad().defined(), "the new W is a fresh leaf");

  if (failures > 0) {
    std::printf("%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
