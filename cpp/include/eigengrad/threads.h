// eigengrad: how many threads the kernels use.
#pragma once

namespace eigengrad {

/// Threads for matrix products and large element-wise kernels (all of the
/// process's cores by default; 1 makes every kernel serial). Results do not depend
/// on the thread count for element-wise kernels; matrix products may differ in the
/// last bits, as with any BLAS. Throws std::invalid_argument for n < 1.
void set_num_threads(int n);
int get_num_threads();

}  // namespace eigengrad
