// Train an MLP with the C++ API alone: Variables, the fused linear and
// cross_entropy ops, backward, and an optimizer step (no Python anywhere).
//
//   train_mlp [epochs=60] [optimizer=adam|sgd] [seed=0]
//
// Data: three interleaved 2-D spirals (600 points). Network: 2-64-64-3 with tanh.
// Prints the loss and accuracy per epoch and the time per epoch; exits non-zero if
// training did not bring the loss down (so ctest can run it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "eigengrad/eigengrad.h"

namespace eg = eigengrad;

namespace {

struct Data {
  std::vector<double> points;  // (n, 2) row-major
  std::vector<std::int64_t> labels;
};

Data spirals(int per_class, int classes, std::mt19937& rng) {
  std::normal_distribution<double> noise(0.0, 0.15);
  Data d;
  for (int c = 0; c < classes; ++c)
    for (int i = 0; i < per_class; ++i) {
      const double r = 0.05 + 0.95 * i / (per_class - 1);
      const double t = c * 2 * M_PI / classes + 4 * r + noise(rng);
      d.points.push_back(r * std::sin(t));
      d.points.push_back(r * std::cos(t));
      d.labels.push_back(c);
    }
  return d;
}

/// A layer's weight (out, in) and bias (out,), drawn from U(-1/sqrt(in), 1/sqrt(in))
/// as PyTorch's Linear does.
std::pair<eg::Variable, eg::Variable> layer(int in, int out, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1 / std::sqrt(in), 1 / std::sqrt(in));
  std::vector<double> w(static_cast<std::size_t>(in) * out), b(out);
  for (double& v : w) v = u(rng);
  for (double& v : b) v = u(rng);
  return {eg::Variable(eg::Tensor::from_vector(w, {out, in}, eg::DType::Float32), true),
          eg::Variable(eg::Tensor::from_vector(b, {out}, eg::DType::Float32), true)};
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 60;
  const std::string which = argc > 2 ? argv[2] : "adam";
  const unsigned seed = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 0;
  if (epochs < 1 || (which != "adam" && which != "sgd")) {
    std::fprintf(stderr, "usage: train_mlp [epochs >= 1] [adam|sgd] [seed]\n");
    return 2;
  }
  std::mt19937 rng(seed);
  const Data data = spirals(200, 3, rng);
  const std::int64_t n = static_cast<std::int64_t>(data.labels.size()), batch = 32;

  auto [W1, b1] = layer(2, 64, rng);
  auto [W2, b2] = layer(64, 64, rng);
  auto [W3, b3] = layer(64, 3, rng);
  std::vector<eg::Variable> params{W1, b1, W2, b2, W3, b3};
  auto forward = [&](const eg::Variable& x) {
    eg::Variable h = eg::tanh(eg::linear(x, W1, b1));
    h = eg::tanh(eg::linear(h, W2, b2));
    return eg::linear(h, W3, b3);
  };
  std::unique_ptr<eg::optim::Optimizer> optimizer;
  if (which == "adam") {
    eg::optim::AdamOptions options;
    options.lr = 0.01;
    optimizer = std::make_unique<eg::optim::Adam>(params, options);
  } else {
    optimizer = std::make_unique<eg::optim::SGD>(params, eg::optim::SGDOptions{0.2, 0.9});
  }

  std::vector<std::int64_t> order(n);
  for (std::int64_t i = 0; i < n; ++i) order[i] = i;
  const eg::Variable all(eg::Tensor::from_vector(data.points, {n, 2}, eg::DType::Float32));
  double first_loss = 0, last_loss = 0;
  double total_seconds = 0;
  std::printf("spirals: %lld points, 3 classes; MLP 2-64-64-3 (tanh), %s, batch %lld\n",
              static_cast<long long>(n), which.c_str(), static_cast<long long>(batch));
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t s = 0; s < n; s += batch) {
      const std::int64_t m = std::min(batch, n - s);
      std::vector<double> xb;
      std::vector<std::int64_t> yb;
      for (std::int64_t i = s; i < s + m; ++i) {
        xb.push_back(data.points[2 * order[i]]);
        xb.push_back(data.points[2 * order[i] + 1]);
        yb.push_back(data.labels[order[i]]);
      }
      eg::Variable x(eg::Tensor::from_vector(xb, {m, 2}, eg::DType::Float32));
      eg::Variable loss = eg::cross_entropy(forward(x), yb);
      optimizer->zero_grad();
      loss.backward();
      optimizer->step();
    }
    total_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    eg::NoGradGuard no_grad;
    eg::Variable logits = forward(all);
    const double loss = eg::cross_entropy(logits, data.labels).item();
    const std::vector<double> z = logits.data().to_vector();
    std::int64_t correct = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < 3; ++c)
        if (z[3 * i + c] > z[3 * i + best]) best = c;
      correct += best == data.labels[i];
    }
    if (epoch == 1) first_loss = loss;
    last_loss = loss;
    std::printf("epoch %3d  loss %.4f  accuracy %.3f\n", epoch, loss, static_cast<double>(correct) / n);
  }
  std::printf("%.3f ms per epoch (%lld steps)\n", 1e3 * total_seconds / epochs,
              static_cast<long long>((n + batch - 1) / batch));
  if (!(last_loss < 0.5 * first_loss)) {
    std::printf("FAILED: the loss did not halve (%.4f -> %.4f)\n", first_loss, last_loss);
    return 1;
  }
  return 0;
}
