// The engine's cost per graph node, on 1-element float32 tensors (so the kernels
// cost next to nothing):
//   chain: y = x * 1.0 repeated `depth` times;            depth nodes
//   wide:  x * 1.0 in `width` branches, summed with add;  2 width - 1 nodes
// Each iteration builds the graph, runs backward and frees it; the counters give
// each phase in ns per node (build_ns, backward_ns, free_ns), the time column the
// whole iteration.
#include <benchmark/benchmark.h>

#include <chrono>

#include "common.h"

namespace {

namespace eg = eigengrad;
using Clock = std::chrono::steady_clock;

eg::Variable chain(const eg::Variable& x, std::int64_t depth) {
  eg::Variable y = x;
  for (std::int64_t i = 0; i < depth; ++i) y = y * 1.0;
  return y;
}

eg::Variable wide(const eg::Variable& x, std::int64_t width) {
  eg::Variable total = x * 1.0;
  for (std::int64_t i = 1; i < width; ++i) total = total + x * 1.0;
  return total;
}

template <class Build>
void time_phases(benchmark::State& state, Build build, std::int64_t nodes) {
  eg::Variable x(eg::Tensor::full({1}, 1.0, eg::DType::Float32), /*requires_grad=*/true);
  double build_s = 0, backward_s = 0, free_s = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    eg::Variable y = build(x, state.range(0));
    const auto t1 = Clock::now();
    y.backward();
    const auto t2 = Clock::now();
    y = eg::Variable();  // the last handle on the graph: frees every node
    const auto t3 = Clock::now();
    build_s += std::chrono::duration<double>(t1 - t0).count();
    backward_s += std::chrono::duration<double>(t2 - t1).count();
    free_s += std::chrono::duration<double>(t3 - t2).count();
    x.set_grad(eg::Variable());
  }
  const double per_node_ns = 1e9 / (static_cast<double>(nodes) * static_cast<double>(state.iterations()));
  state.counters["build_ns"] = build_s * per_node_ns;
  state.counters["backward_ns"] = backward_s * per_node_ns;
  state.counters["free_ns"] = free_s * per_node_ns;
  state.SetItemsProcessed(state.iterations() * nodes);
}

void chain_graph(benchmark::State& state) { time_phases(state, chain, state.range(0)); }
void wide_graph(benchmark::State& state) { time_phases(state, wide, 2 * state.range(0) - 1); }

}  // namespace

BENCHMARK(chain_graph)->Setup(bench::single_thread)->ArgName("depth")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(wide_graph)->Setup(bench::single_thread)->ArgName("width")->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
