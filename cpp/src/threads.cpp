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

// Eigen's own OpenMP parallelism stays off: it splits even small products over
// every thread, and a 2-thread region waits whole time slices when another process
// holds a core (a 30x slower MLP step was measured). kernels/gemm.cpp splits large
// products by rows instead, each block a single-threaded Eigen product.
std::atomic<int>& thread_count() {
  static std::atomic<int> count{[] {
    Eigen::setNbThreads(1);
    return default_threads();
  }()};
  return count;
}
}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("set_num_threads: need at least 1 thread, got " + std::to_string(n));
  thread_count() = n;
}

int get_num_threads() { return thread_count(); }

}  // namespace eigengrad
