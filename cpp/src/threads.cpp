#include "eigengrad/threads.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace eigengrad {

namespace {
int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::atomic<int>& thread_count() {
  static std::atomic<int> count{default_threads()};
  return count;
}
}  // namespace

int max_num_threads() {
  // More threads than this only oversubscribe the cores; far more (1e5) exhaust
  // what OpenMP can start, and the process would die in the next parallel kernel.
  return std::min(1024, std::max(64, 4 * default_threads()));
}

void set_num_threads(std::int64_t n) {
  if (n < 1 || n > max_num_threads())
    throw std::invalid_argument("set_num_threads: the thread count must be between 1 and " +
                                std::to_string(max_num_threads()) + " (4 per core, at least 64, at most 1024), got " +
                                std::to_string(n));
  thread_count() = static_cast<int>(n);
}

int get_num_threads() { return thread_count(); }

}  // namespace eigengrad
