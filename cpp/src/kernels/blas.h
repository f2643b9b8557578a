// The optional BLAS backend of the matrix products (see eigengrad/config.h).
#pragma once

#include <cstdint>

namespace eigengrad::kernels {

/// True when a product of m x k by k x n of this element type should go to the BLAS
/// library (one is loaded and the backend setting and threshold say so).
template <class T>
bool blas_takes(std::int64_t m, std::int64_t n, std::int64_t k);

/// out (m x n, row-major, leading dimension n) = op(X) op(Y), with X of xr x xc
/// and Y of yr x yc row-major, op the transpose where tx / ty. Only after
/// blas_takes said so. Runs on the calling thread alone (the library's pool is set to
/// one thread: Note [One thread pool], blas.cpp).
template <class T>
void blas_gemm(const T* x, std::int64_t xc, bool tx, const T* y, std::int64_t yc, bool ty, T* out,
               std::int64_t m, std::int64_t n, std::int64_t k);

}  // namespace eigengrad::kernels
