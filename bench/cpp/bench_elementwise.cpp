// Element-wise ops on n float32 elements, shaped (n / 1000, 1000): eigengrad's ops
// (inputs without requires_grad, so no graph is recorded) beside the plain Eigen
// array expression, written into a preallocated buffer.
// Bytes count every input and output element once (the row of add_row too).
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "common.h"

namespace {

namespace eg = eigengrad;
using bench::random_tensor;

constexpr std::int64_t kCols = 1000;
using Array = Eigen::Array<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const Array>;
using RowMap = Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>;

eg::Tensor input(std::int64_t rows, std::int64_t cols, unsigned seed) {
  return random_tensor({rows, cols}, eg::DType::Float32, seed);
}

void set_bytes(benchmark::State& state, std::int64_t elements) {
  state.SetBytesProcessed(state.iterations() * elements * static_cast<std::int64_t>(sizeof(float)));
}

// ---- one input: exp, tanh, sigmoid, relu ------------------------------------------

template <class F>
void eigen_unary(benchmark::State& state, F f) {
  const std::int64_t rows = state.range(0) / kCols;
  const eg::Tensor x = input(rows, kCols, 1);
  Array out(rows, kCols);
  for (auto _ : state) {
    out = f(Map(x.data_as<float>(), rows, kCols));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * kCols);
}

void eigengrad_unary(benchmark::State& state, eg::Variable (*op)(const eg::Variable&)) {
  const std::int64_t rows = state.range(0) / kCols;
  const eg::Variable x(input(rows, kCols, 1));
  for (auto _ : state) {
    eg::Variable out = op(x);
    benchmark::DoNotOptimize(out.data().data());
  }
  set_bytes(state, 2 * rows * kCols);
}

// ---- two inputs: add, mul (same shape) and add_row ((rows, 1000) + (1000,)) -------

template <class F>
void eigen_binary(benchmark::State& state, F f) {
  const std::int64_t rows = state.range(0) / kCols;
  const eg::Tensor x = input(rows, kCols, 1), y = input(rows, kCols, 2);
  Array out(rows, kCols);
  for (auto _ : state) {
    out = f(Map(x.data_as<float>(), rows, kCols), Map(y.data_as<float>(), rows, kCols));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 3 * rows * kCols);
}

void eigen_add_row(benchmark::State& state) {
  const std::int64_t rows = state.range(0) / kCols;
  const eg::Tensor x = input(rows, kCols, 1), row = input(1, kCols, 2);
  Array out(rows, kCols);
  for (auto _ : state) {
    out = Map(x.data_as<float>(), rows, kCols).rowwise() + RowMap(row.data_as<float>(), kCols);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, 2 * rows * kCols + kCols);
}

void eigengrad_binary(benchmark::State& state,
                      eg::Variable (*op)(const eg::Variable&, const eg::Variable&), bool row) {
  const std::int64_t rows = state.range(0) / kCols;
  const eg::Variable x(input(rows, kCols, 1));
  const eg::Variable y(row ? input(1, kCols, 2).view({kCols}) : input(rows, kCols, 2));
  for (auto _ : state) {
    eg::Variable out = op(x, y);
    benchmark::DoNotOptimize(out.data().data());
  }
  set_bytes(state, 2 * rows * kCols + y.numel());
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Setup(bench::single_thread)->ArgName("n")->Arg(1000)->Arg(100000)->Arg(1000000);
}

}  // namespace

BENCHMARK_CAPTURE(eigen_binary, add, [](const auto& x, const auto& y) { return x + y; })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_binary, add, eg::add, false)->Apply(sizes);
BENCHMARK(eigen_add_row)->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_binary, add_row, eg::add, true)->Apply(sizes);
BENCHMARK_CAPTURE(eigen_binary, mul, [](const auto& x, const auto& y) { return x * y; })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_binary, mul, eg::mul, false)->Apply(sizes);
BENCHMARK_CAPTURE(eigen_unary, exp, [](const auto& x) { return x.exp(); })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_unary, exp, eg::exp)->Apply(sizes);
BENCHMARK_CAPTURE(eigen_unary, tanh, [](const auto& x) { return x.tanh(); })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_unary, tanh, eg::tanh)->Apply(sizes);
BENCHMARK_CAPTURE(eigen_unary, sigmoid, [](const auto& x) { return x.logistic(); })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_unary, sigmoid, eg::sigmoid)->Apply(sizes);
BENCHMARK_CAPTURE(eigen_unary, relu, [](const auto& x) { return x.max(0.0f); })->Apply(sizes);
BENCHMARK_CAPTURE(eigengrad_unary, relu, eg::relu)->Apply(sizes);
