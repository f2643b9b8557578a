// One training step of a 784-256-256-10 ReLU MLP on a batch of 128, float32:
// forward, softmax cross-entropy (mean), backward, SGD (lr 0.01, momentum 0.9).
//   eigengrad: linear, relu, cross_entropy, loss.backward(), optim::SGD;
//   eigen:     the same step written out by hand on Eigen matrices, preallocated
//              and without autodiff: the floor for the eigengrad step.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "common.h"

namespace {

namespace eg = eigengrad;
using bench::random_tensor;

constexpr std::int64_t kBatch = 128, kClasses = 10;
constexpr std::array<std::int64_t, 4> kWidths{784, 256, 256, kClasses};
constexpr double kLr = 0.01, kMomentum = 0.9;

// The inputs of both versions: layer l has weight (out, in) from U(+-1/sqrt(in))
// (seed 2l + 1) and bias (out,) (seed 2l + 2), as PyTorch's Linear.
eg::Tensor weight(std::size_t l) {
  return random_tensor({kWidths[l + 1], kWidths[l]}, eg::DType::Float32, 2 * l + 1,
                       1 / std::sqrt(static_cast<double>(kWidths[l])));
}
eg::Tensor bias(std::size_t l) {
  return random_tensor({kWidths[l + 1]}, eg::DType::Float32, 2 * l + 2,
                       1 / std::sqrt(static_cast<double>(kWidths[l])));
}
eg::Tensor batch() { return random_tensor({kBatch, kWidths[0]}, eg::DType::Float32, 100); }
std::vector<std::int64_t> labels() {
  std::mt19937 rng(101);
  std::vector<std::int64_t> y(kBatch);
  for (auto& v : y) v = std::uniform_int_distribution<std::int64_t>(0, kClasses - 1)(rng);
  return y;
}

void eigengrad_step(benchmark::State& state) {
  std::vector<eg::Variable> params;
  for (std::size_t l = 0; l < 3; ++l) {
    params.emplace_back(weight(l), /*requires_grad=*/true);
    params.emplace_back(bias(l), /*requires_grad=*/true);
  }
  const eg::Variable x(batch());
  const std::vector<std::int64_t> y = labels();
  eg::optim::SGD sgd(params, eg::optim::SGDOptions{kLr, kMomentum});
  for (auto _ : state) {
    eg::Variable h = eg::relu(eg::linear(x, params[0], params[1]));
    h = eg::relu(eg::linear(h, params[2], params[3]));
    eg::Variable loss = eg::cross_entropy(eg::linear(h, params[4], params[5]), y);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    benchmark::DoNotOptimize(loss.data().data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;

Matrix to_matrix(const eg::Tensor& t) {
  const std::int64_t cols = t.shape().back();
  return Eigen::Map<const Matrix>(t.data_as<float>(), t.numel() / cols, cols);
}

/// The hand-written step: z_l = a_{l-1} W_l^T + b_l, a_l = relu(z_l), and the
/// chain rule backwards with dz = (softmax(z_3) - onehot(y)) / batch at the top.
struct EigenMlp {
  std::array<Matrix, 3> W, gW, vW, z, a, dz;  // a[l] = relu(z[l]) for l < 2
  std::array<RowVector, 3> b, gb, vb;
  float loss = 0;

  EigenMlp() {
    for (std::size_t l = 0; l < 3; ++l) {
      W[l] = to_matrix(weight(l));
      b[l] = to_matrix(bias(l));
      vW[l] = Matrix::Zero(W[l].rows(), W[l].cols());
      vb[l] = RowVector::Zero(b[l].size());
    }
  }

  void step(const Matrix& x, const std::vector<std::int64_t>& y) {
    for (std::size_t l = 0; l < 3; ++l) {
      z[l].noalias() = (l == 0 ? x : a[l - 1]) * W[l].transpose();
      z[l].rowwise() += b[l];
      if (l < 2) a[l] = z[l].cwiseMax(0.0f);
    }
    // Stable softmax cross-entropy: p = e^(z - max) / sum, loss = mean(lse - z_y).
    const Eigen::VectorXf max = z[2].rowwise().maxCoeff();
    dz[2] = (z[2].colwise() - max).array().exp().matrix();
    const Eigen::VectorXf sum = dz[2].rowwise().sum();
    loss = 0;
    for (std::int64_t i = 0; i < kBatch; ++i) {
      loss += (std::log(sum(i)) + max(i) - z[2](i, y[i])) / kBatch;
      dz[2].row(i) /= sum(i);
      dz[2](i, y[i]) -= 1.0f;
    }
    dz[2] /= static_cast<float>(kBatch);
    for (std::size_t l = 3; l-- > 0;) {
      gW[l].noalias() = dz[l].transpose() * (l == 0 ? x : a[l - 1]);
      gb[l] = dz[l].colwise().sum();
      if (l > 0) {
        dz[l - 1].noalias() = dz[l] * W[l];
        dz[l - 1] = (z[l - 1].array() > 0.0f).select(dz[l - 1], 0.0f);
      }
    }
    for (std::size_t l = 0; l < 3; ++l) {  // SGD with momentum (v starts at 0)
      vW[l] = kMomentum * vW[l] + gW[l];
      vb[l] = kMomentum * vb[l] + gb[l];
      W[l] -= kLr * vW[l];
      b[l] -= kLr * vb[l];
    }
  }
};

void eigen_step(benchmark::State& state) {
  EigenMlp mlp;
  const Matrix x = to_matrix(batch());
  const std::vector<std::int64_t> y = labels();
  for (auto _ : state) {
    mlp.step(x, y);
    benchmark::DoNotOptimize(mlp.loss);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

}  // namespace

BENCHMARK(eigen_step)->Setup(bench::single_thread)->Unit(benchmark::kMicrosecond);
BENCHMARK(eigengrad_step)->Setup(bench::single_thread)->Unit(benchmark::kMicrosecond);
