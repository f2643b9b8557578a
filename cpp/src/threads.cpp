#include "eigengrad/threads.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "kernels/eigen.h"

namespace eigengrad {

namespace {
int default_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::atomic<int>& thread_count() {
  static std::atomic<int> count{[] {
    int n = default_threads();
    Eigen::setNbThreads(n);
    return n;
  }()};
  return count;
}
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: need at least 1 thread, got " + std::to_string(n));
  thread_count() = n;
  Eigen::setNbThreads(n);
}

int get_num_threads() { return thread_count(); }

}  // namespace eigengrad
