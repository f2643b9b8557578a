// Tests of the reliability guarantees of the C++ core, without Python: version
// counters (Note [Version counter]), copy_, hooks, live counters, allocation size
// checks and fault injection, and threads (Note [Threads]) in cpp/src/lock_stripes.h.
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eigengrad/engine.h"
#include "helpers.h"

namespace eigengrad {
namespace {

using namespace test_util;

TEST(Versions, AnInPlaceUpdateOfASavedInputRaisesNamingTheOpAndVersions) {
  Variable w = make_var({1, 2}, {2}, true);
  Variable x = make_var({3, 4}, {2});
  Variable y = sum(w * x);
  {
    NoGradGuard no_grad;
    x.copy_(make_var({0, 0}, {2}));
  }
  EXPECT_EQ(x.version(), 1u);
  std::string m = message_of<std::runtime_error>([&] { y.backward(); });
  EXPECT_TRUE(contains(m, "mul: input 1, saved for backward, was modified in place")) << m;
  EXPECT_TRUE(contains(m, "version is 1, the backward rule expects version 0")) << m;
}

TEST(Versions, ValuesTheGradientDoesNotReadMayChange) {
  Variable w = make_var({1, 2}, {2}, true);
  Variable y = sum(w * 3.0);
  {
    NoGradGuard no_grad;
    w.copy_(make_var({5, 5}, {2}));
  }
  y.backward();
  expect_values_near(w.grad(), {3, 3});
}

TEST(Versions, ViewsShareTheCounter) {
  Variable w = make_var({1, 2, 3, 4}, {4}, true);
  Variable x = make_var({1, 1, 1, 1}, {4});
  Variable y = sum(w * x);
  Variable view = reshape(x, {2, 2});
  {
    NoGradGuard no_grad;
    view.copy_(make_var({2}, {1}));  // broadcast into the view
  }
  expect_values_near(x, {2, 2, 2, 2});
  EXPECT_THROW(y.backward(), std::runtime_error);
}

TEST(Versions, CopyIntoAVariableThatRequiresGradNeedsGradModeOff) {
  Variable w = make_var({1, 2}, {2}, true);
  EXPECT_THROW(w.copy_(make_var({0, 0}, {2})), std::runtime_error);
}

TEST(Versions, TheSavedReadsCheckCatchesADriftedTable) {
  // A "mul" whose rule captures neither input, against the table's entry for mul
  // (gx reads y, gy reads x): the test mode names both.
  Variable x = make_var({1.0}, {1}, true), y = make_var({2.0}, {1}, true);
  BackwardFn captures_nothing = [](const BackwardArgs& a) -> std::vector<Variable> { return {a.gout, a.gout}; };
  detail::set_check_saved_reads(true);
  const std::string message =
      message_of<InternalError>([&] { detail::check_saved_reads_table("mul", captures_nothing, {x, y}); });
  detail::set_check_saved_reads(false);
  EXPECT_TRUE(contains(message, "mul: its backward rule captures inputs {} but the saved-reads table lists {0, 1}"))
      << message;
  // Off (the default), nothing is checked.
  detail::check_saved_reads_table("mul", captures_nothing, {x, y});
}

TEST(Hooks, SeeAndReplaceTheGradient) {
  Variable x = make_var({1, 2}, {2}, true);
  int calls = 0;
  int id = x.register_hook([&](const Variable& g) {
    ++calls;
    return g * 10.0;
  });
  sum(x * 2.0).backward();
  expect_values_near(x.grad(), {20, 20});
  EXPECT_TRUE(x.remove_hook(id));
  EXPECT_FALSE(x.remove_hook(id));
  x.set_grad(Variable());
  sum(x * 2.0).backward();
  expect_values_near(x.grad(), {2, 2});
  EXPECT_EQ(calls, 1);
}

TEST(Hooks, PostAccumulateRunsOnceTheLeafGradientIsComplete) {
  Variable w = make_var({1, 2}, {2}, true);
  Variable x = make_var({3, 4}, {2}, true);
  std::vector<std::string> order;
  int id = w.register_post_accumulate_grad_hook([&](const Variable& leaf) {
    // Both uses of w have been summed; x, the leaf nearer the start, is still to come.
    expect_values_near(leaf.grad(), {2 * 1 + 3, 2 * 2 + 4});
    EXPECT_FALSE(x.grad().defined());
    order.push_back("w");
    return Variable();
  });
  x.register_post_accumulate_grad_hook([&](const Variable& leaf) {
    expect_values_near(leaf.grad(), {1, 2});
    order.push_back("x");
    return Variable(leaf.data());  // ignored
  });
  // L = sum(x*w + w*w): dL/dw = x + 2w, dL/dx = w; x's path (through exp(log(x))) is longer.
  Variable y = exp(log(x));
  sum(y * w + w * w).backward();
  EXPECT_EQ(order, (std::vector<std::string>{"w", "x"}));
  expect_values_near(x.grad(), {1, 2});
  // grad() accumulates nothing, so runs no post-accumulate hook.
  grad({sum(w * 3.0)}, {w});
  EXPECT_EQ(order.size(), 2u);
  EXPECT_TRUE(w.remove_hook(id));
  sum(w * 3.0).backward();
  EXPECT_EQ(order.size(), 2u);
  // Only leaves that require grad accumulate.
  EXPECT_THROW(y.register_post_accumulate_grad_hook([](const Variable&) { return Variable(); }), std::runtime_error);
  EXPECT_THROW(make_var({1}, {1}, false).register_post_accumulate_grad_hook([](const Variable&) { return Variable(); }),
               std::runtime_error);
}

TEST(Counters, EveryNodeAndBufferIsFreed) {
  const std::int64_t nodes = detail::live_nodes();
  const std::int64_t buffers = detail::buffer_stats().owned;
  {
    Variable x = make_var({1, 2, 3}, {3}, true);
    Variable y = x;
    for (int i = 0; i < 100000; ++i) y = tanh(y) * 1.5;  // deep: freed without recursion
    sum(y).backward();
    EXPECT_GT(detail::live_nodes(), nodes);
  }
  EXPECT_EQ(detail::live_nodes(), nodes);
  EXPECT_EQ(detail::buffer_stats().owned, buffers);
}

TEST(Allocation, SizesBeyondTheMachineAreRefusedBeforeAllocating) {
  const std::int64_t before = detail::allocation_count();
  EXPECT_THROW(Tensor({std::int64_t{1} << 40, std::int64_t{1} << 20}, DType::Float64), OutOfMemory);
  EXPECT_EQ(detail::allocation_count(), before);
  EXPECT_THROW(Tensor({0, std::int64_t{1} << 62, std::int64_t{1} << 62}, DType::Float64), std::invalid_argument);
}

TEST(Allocation, InjectedFailuresSurfaceAndTheNextRunIsExact) {
  Variable x = make_var({0.5, 1.0}, {2}, true);
  for (int k = 0; k < 12; ++k) {
    detail::fail_allocations_after(k);
    try {
      sum(exp(x) * x).backward();
    } catch (const OutOfMemory&) {
    }
    detail::fail_allocations_after(-1);
    x.set_grad(Variable());
  }
  sum(exp(x) * x).backward();
  expect_values_near(x.grad(), {std::exp(0.5) * 1.5, std::exp(1.0) * 2.0});
}

TEST(Threads, ConcurrentBackwardIntoOneLeafAddsUpExactly) {
  Variable w = make_var(std::vector<double>(64, 1.0), {64}, true);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) sum(tanh(w) * 0.0 + w * 3.0).backward();
    });
  for (auto& t : threads) t.join();
  expect_values_near(w.grad(), std::vector<double>(64, 2400.0));
}

TEST(Threads, OneGraphBackwardedByManyThreadsRunsOnce) {
  Variable x = make_var({0.1, 0.2, 0.3}, {3}, true);
  Variable y = sum(exp(x) * tanh(x));
  std::atomic<int> ran{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      try {
        y.backward();
        ++ran;
      } catch (const std::runtime_error& e) {
        if (contains(e.what(), "retain_graph")) ++refused;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST(Threads, ARetainedSharedGraphRunsInEveryThreadAtOnce) {
  Variable x = make_var({0.1, 0.2, 0.3}, {3}, true);
  Variable y = sum(exp(x) * tanh(x));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) y.backward(Variable(), true);
      (void)x.grad();  // reads while others accumulate
    });
  for (auto& t : threads) t.join();
  std::vector<double> want;
  for (double v : {0.1, 0.2, 0.3})
    want.push_back(160 * (std::exp(v) * std::tanh(v) + std::exp(v) * (1 - std::tanh(v) * std::tanh(v))));
  expect_values_near(x.grad(), want, 1e-9);
}

// Threads discovering one long graph at once find nodes another pass holds (Note
// [Dense discovery]): they discover again with a map, and every one gets the answer.
TEST(Threads, ThreadsDiscoveringOneLongGraphAtOnceAllGetItsGradient) {
  Variable x = make_var({0.5}, {1}, true);
  Variable y = x;
  for (int i = 0; i < 3000; ++i) y = y * 1.0001;
  std::vector<std::vector<Variable>> grads(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) grads[t].push_back(grad({y}, {x}, {}, true)[0]);
    });
  for (auto& t : threads) t.join();
  const double want = std::pow(1.0001, 3000);
  for (const auto& per_thread : grads)
    for (const Variable& g : per_thread) expect_values_near(g, {want}, 1e-9);
}

TEST(Threads, IndependentGraphsGiveTheSerialResultBitwise) {
  auto run = [](double seed) {
    Variable x = make_var({seed, seed + 1, seed + 2}, {3}, true);
    Variable y = x;
    for (int i = 0; i < 200; ++i) y = sin(y) * 1.01 + tanh(y);
    sum(y).backward();
    return x.grad().data().to_vector();
  };
  std::vector<std::vector<double>> serial, parallel(8);
  for (int t = 0; t < 8; ++t) serial.push_back(run(t));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { parallel[t] = run(t); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(serial, parallel);
}

TEST(Interrupt, ACheckThatThrowsAbandonsTheBackward) {
  static std::atomic<int> calls{0};
  detail::set_interrupt_check([] {
    if (++calls == 3) throw std::runtime_error("interrupted");
  });
  Variable x = make_var({1.0}, {1}, true);
  Variable y = x;
  for (int i = 0; i < 5000; ++i) y = y * 1.0;
  EXPECT_THROW(sum(y).backward(), std::runtime_error);
  detail::set_interrupt_check(nullptr);
  Variable z = sum(x * 2.0);
  z.backward();
  expect_values_near(x.grad(), {2.0});
}

TEST(Threads, CounterBlocksAreReusedNotGrownPerThread) {
  auto work = [] { Variable x(Tensor::full({3}, 1.0, DType::Float64), true); sum(exp(x)).backward(); };
  std::thread(work).join();
  const std::size_t blocks = detail::counter_blocks();
  for (int i = 0; i < 200; ++i) std::thread(work).join();
  EXPECT_EQ(detail::counter_blocks(), blocks);
}

}  // namespace
}  // namespace eigengrad
