// Square matrix products, n x n, float32 and float64: eigengrad's matmul beside
// Eigen's GEMM on the same inputs.
//   forward:           out = x @ y                                   (1 GEMM)
//   forward+backward:  sum(x @ y).backward(): out, gx = gout y^T,
//                      gy = x^T gout                                 (3 GEMMs)
// The FLOPS counter counts 2 n^3 flops per GEMM.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "common.h"

namespace {

namespace eg = eigengrad;
using bench::kDType;
using bench::random_tensor;

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void set_flops(benchmark::State& state, int gemms) {
  const double n = static_cast<double>(state.range(0));
  state.counters["FLOPS"] = benchmark::Counter(gemms * 2 * n * n * n,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

/// The n x n values random_tensor gives for `seed`, as an Eigen matrix.
template <class T>
RowMatrix<T> random_matrix(std::int64_t n, unsigned seed) {
  const eg::Tensor t = random_tensor({n, n}, kDType<T>, seed);
  return Eigen::Map<const RowMatrix<T>>(t.template data_as<T>(), n, n);
}

template <class T>
void eigen_forward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const RowMatrix<T> x = random_matrix<T>(n, 1);
  const RowMatrix<T> y = random_matrix<T>(n, 2);
  RowMatrix<T> out(n, n);
  for (auto _ : state) {
    out.noalias() = x * y;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 1);
}

template <class T>
void eigengrad_forward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const eg::Variable x(random_tensor({n, n}, kDType<T>, 1));
  const eg::Variable y(random_tensor({n, n}, kDType<T>, 2));
  for (auto _ : state) {
    eg::Variable out = eg::matmul(x, y);
    benchmark::DoNotOptimize(out.data().data());
  }
  set_flops(state, 1);
}

// The floor for forward+backward: the three GEMMs into preallocated buffers, with
// gout = ones (the cotangent of sum).
template <class T>
void eigen_forward_backward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const RowMatrix<T> x = random_matrix<T>(n, 1);
  const RowMatrix<T> y = random_matrix<T>(n, 2);
  const RowMatrix<T> gout = RowMatrix<T>::Ones(n, n);
  RowMatrix<T> out(n, n), gx(n, n), gy(n, n);
  for (auto _ : state) {
    out.noalias() = x * y;
    gx.noalias() = gout * y.transpose();
    gy.noalias() = x.transpose() * gout;
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(gx.data());
    benchmark::DoNotOptimize(gy.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 3);
}

template <class T>
void eigengrad_forward_backward(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  eg::Variable x(random_tensor({n, n}, kDType<T>, 1), /*requires_grad=*/true);
  eg::Variable y(random_tensor({n, n}, kDType<T>, 2), /*requires_grad=*/true);
  for (auto _ : state) {
    x.set_grad(eg::Variable());  // fresh gradients, not accumulated ones
    y.set_grad(eg::Variable());
    eg::sum(eg::matmul(x, y)).backward();
    benchmark::DoNotOptimize(x.grad().data().data());
    benchmark::DoNotOptimize(y.grad().data().data());
  }
  set_flops(state, 3);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Setup(bench::single_thread)->ArgName("n")->Arg(64)->Arg(256)->Arg(512)->Arg(1024);
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK_TEMPLATE(eigen_forward, float)->Apply(sizes);
BENCHMARK_TEMPLATE(eigengrad_forward, float)->Apply(sizes);
BENCHMARK_TEMPLATE(eigen_forward, double)->Apply(sizes);
BENCHMARK_TEMPLATE(eigengrad_forward, double)->Apply(sizes);
BENCHMARK_TEMPLATE(eigen_forward_backward, float)->Apply(sizes);
BENCHMARK_TEMPLATE(eigengrad_forward_backward, float)->Apply(sizes);
BENCHMARK_TEMPLATE(eigen_forward_backward, double)->Apply(sizes);
BENCHMARK_TEMPLATE(eigengrad_forward_backward, double)->Apply(sizes);
