// eigengrad: how this build computes (instruction set, threads) and which GEMM
// backends it uses: Eigen, and an optional BLAS library loaded at run time.
#pragma once

#include <cstdint>
#include <string>

namespace eigengrad {

/// What the library was compiled for.
struct BuildInfo {
  std::string simd;           ///< the widest vector instructions the build uses ("AVX-512", "AVX2+FMA", "SSE2", ...)
  std::string compiler;       ///< e.g. "GCC 12.2.0"
  std::string eigen_version;  ///< e.g. "3.4.0"
  bool openmp = false;        ///< whether kernels can run on several threads
};
BuildInfo build_info();

/// The BLAS library loaded by load_blas, if any.
struct BlasInfo {
  bool loaded = false;
  std::string path;      ///< the shared library
  std::string config;    ///< its own description (openblas_get_config), when it has one
  std::string corename;  ///< the CPU kernels it picked (openblas_get_corename), when it has one
};
BlasInfo blas_info();

/// Loads a CBLAS shared library (dlopen) and routes the matrix products where it is
/// faster than Eigen to it (Note [GEMM backends] in kernels/blas.cpp). Accepts
/// OpenBLAS as the scipy-openblas32 wheel ships it (symbols prefixed `scipy_`) and
/// any library with the plain `cblas_sgemm`/`cblas_dgemm` names and 32-bit integers.
/// Throws std::runtime_error naming the path and the missing symbol or dlopen's error.
void load_blas(const std::string& path);

/// Which library computes matrix products: "auto" (BLAS, when loaded, from the
/// size where it wins; Eigen below), "eigen" (always Eigen) or "blas" (BLAS for
/// every product it can take; Eigen when none is loaded).
void set_gemm_backend(const std::string& backend);
std::string gemm_backend();

/// In "auto", the number of multiply-adds (m * n * k) from which a product goes to
/// BLAS, per dtype size (4: float32, 8: float64). The defaults depend on the build's
/// instruction set (measured; see kernels/blas.cpp). Throws std::invalid_argument
/// for a negative count or another element size.
void set_blas_threshold(int element_size, double multiply_adds);
double blas_threshold(int element_size);

}  // namespace eigengrad
