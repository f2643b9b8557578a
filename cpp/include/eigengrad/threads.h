// eigengrad: how many threads the kernels use.
#pragma once

#include <cstdint>

namespace eigengrad {

/// Threads for matrix products and large element-wise kernels (all of the
/// process's cores by default; 1 makes every kernel serial). Results do not depend
/// on the thread count for element-wise kernels; matrix products may differ in the
/// last bits, as with any BLAS. Throws std::invalid_argument unless
/// 1 <= n <= max_num_threads().
void set_num_threads(std::int64_t n);
int get_num_threads();
/// The largest thread count set_num_threads accepts: 4 per core, at least 64, at
/// most 1024.
int max_num_threads();

}  // namespace eigengrad
