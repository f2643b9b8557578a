// Every file that uses Eigen includes it through here, so that an Eigen assertion
// can never abort the process. In optimised builds (NDEBUG) Eigen compiles its
// assertions out (EIGEN_NO_DEBUG); in debug builds they throw InternalError. Either
// way the ops validate their arguments before any Eigen call.
#pragma once

#include "eigengrad/errors.h"

#if !defined(NDEBUG) && !defined(eigen_assert)
#define eigen_assert(x)                                                                   \
  do {                                                                                    \
    if (!(x)) throw ::eigengrad::InternalError("Eigen assertion failed: " #x);            \
  } while (false)
#endif

#include <Eigen/Core>

namespace eigengrad::kernels {

template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using MatrixMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <class T>
using ConstMatrixMap =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

/// Eigen's own OpenMP parallelism stays off: it splits even small products over
/// every thread, and a 2-thread region waits whole time slices when another process
/// holds a core (a 30x slower MLP step was measured). Large products are split by
/// rows in gemm.cpp instead; the factorisations (decompositions.cpp), which call
/// Eigen's GEMM, run on the calling thread.
inline void keep_eigen_single_threaded() {
  static const bool done = [] {
    Eigen::setNbThreads(1);
    return true;
  }();
  (void)done;
}

}  // namespace eigengrad::kernels
