// The bindings of the build and backend configuration (eg.show_config reads them).
#pragma once

#include <pybind11/pybind11.h>

/// Adds _build_info, _blas_info, _load_blas, set_gemm_backend, get_gemm_backend,
/// set_blas_threshold and get_blas_threshold.
void bind_config(pybind11::module_& m);
