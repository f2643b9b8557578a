// Tests of the buffer allocator through its C++ API (eigengrad/memory.h, Note
// [Caching allocator] in cpp/src/allocator.h): counters, reuse, the bound, threads.
#include <cstdint>
#include <thread>
#include <vector>

#include "helpers.h"

namespace eigengrad {
namespace {

using namespace test_util;

constexpr std::int64_t kMiB = 1 << 20;

/// Each test starts with an empty cache of 64 MiB and restores the bound after.
class Memory : public ::testing::Test {
 protected:
  void SetUp() override {
    before_ = memory_cache_limit();
    set_memory_cache_limit(64 * kMiB);
    empty_cache();
  }
  void TearDown() override { set_memory_cache_limit(before_); }

 private:
  std::int64_t before_ = 0;
};

Tensor buffer(std::int64_t bytes) { return Tensor({bytes / 8}, DType::Float64); }

TEST_F(Memory, BuffersAreCountedWhileAliveAndCachedAfter) {
  const MemoryStats before = memory_stats();
  {
    Tensor t = buffer(2 * kMiB);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    EXPECT_EQ(memory_stats().bytes_in_use - before.bytes_in_use, 2 * kMiB);
  }
  MemoryStats after = memory_stats();
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.bytes_cached, 2 * kMiB);
  EXPECT_EQ(after.cached_blocks, 1);
  EXPECT_GE(after.peak_bytes_in_use, before.bytes_in_use + 2 * kMiB);

  for (int i = 0; i < 3; ++i) {
    Tensor t = buffer(2 * kMiB - 64);  // the same size class
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
  }
  after = memory_stats();
  EXPECT_EQ(after.cache_hits - before.cache_hits, 3);
  EXPECT_EQ(after.cache_misses - before.cache_misses, 1);
  empty_cache();
  EXPECT_EQ(memory_stats().bytes_cached, 0);
}

TEST_F(Memory, TheBoundEvictsTheLeastRecentlyFreedFirst) {
  set_memory_cache_limit(5 * kMiB);
  { Tensor a = buffer(2 * kMiB), b = buffer(kMiB), c = buffer(3 * kMiB); }  // freed c, b, a
  // 6 MiB freed into a 5 MiB cache: c (freed first) went.
  EXPECT_EQ(memory_stats().bytes_cached, 3 * kMiB);
  const MemoryStats before = memory_stats();
  { Tensor a = buffer(2 * kMiB), b = buffer(kMiB); }
  { Tensor c = buffer(3 * kMiB); }
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.cache_hits - before.cache_hits, 2);
  EXPECT_EQ(after.cache_misses - before.cache_misses, 1);
  EXPECT_LE(after.bytes_cached, 5 * kMiB);
}

TEST_F(Memory, ANegativeBoundIsRefused) {
  EXPECT_THROW(set_memory_cache_limit(-1), std::invalid_argument);
}

TEST_F(Memory, InjectedFailuresNameTheLabelledOpShapeAndDtype) {
  detail::fail_allocations_after(0);
  std::string m;
  {
    AllocationLabel label("exp");
    m = message_of<OutOfMemory>([&] { buffer(kMiB); });
  }
  detail::fail_allocations_after(-1);
  EXPECT_TRUE(contains(m, "exp: out of memory allocating 1.0 MiB (injected fault) for a float64 tensor of "
                          "shape (131072,)")) << m;
}

TEST_F(Memory, ThreadsAllocatingAndFreeingKeepTheCountersExact) {
  const MemoryStats before = memory_stats();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      std::vector<Tensor> alive;
      for (int i = 0; i < 500; ++i) {
        alive.push_back(buffer((1 + (i + t) % 5) * 512 * 1024));
        if (alive.size() > 3) alive.erase(alive.begin() + (i % 3));
      }
    });
  for (std::thread& t : threads) t.join();
  const MemoryStats after = memory_stats();
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.allocations - before.allocations, 2000);
  EXPECT_EQ((after.cache_hits - before.cache_hits) + (after.cache_misses - before.cache_misses), 2000);
  EXPECT_LE(after.bytes_cached, 64 * kMiB);
}

}  // namespace
}  // namespace eigengrad
