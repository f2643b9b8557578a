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

}  // namespace eigengrad::kernels
