// The build and GEMM-backend configuration, in eigengrad._core. Binding code only.
#include "bind_config.h"

#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "eigengrad/config.h"

namespace py = pybind11;
using namespace eigengrad;

namespace {

/// The element size of a floating dtype given as "float32", "float64" or a NumPy dtype.
int element_size(py::handle dtype, const char* op) {
  const std::string name = py::str(py::module_::import("numpy").attr("dtype")(dtype).attr("name"));
  if (name == "float32") return 4;
  if (name == "float64") return 8;
  throw py::value_error(std::string(op) + ": dtype must be float32 or float64, got " + name);
}

}  // namespace

void bind_config(py::module_& m) {
  m.def("_build_info", [] {
    const BuildInfo b = build_info();
    py::dict d;
    d["simd"] = b.simd;
    d["compiler"] = b.compiler;
    d["eigen"] = b.eigen_version;
    d["openmp"] = b.openmp;
    return d;
  }, "What the C++ core was compiled for (see eg.show_config).");
  m.def("_blas_info", [] {
    const BlasInfo b = blas_info();
    py::dict d;
    d["loaded"] = b.loaded;
    d["path"] = b.path;
    d["config"] = b.config;
    d["corename"] = b.corename;
    return d;
  }, "The BLAS library loaded for matrix products, if any.");
  m.def("_load_blas", &load_blas, py::arg("path"),
        "Loads a CBLAS shared library for the matrix products where it is faster (RuntimeError if it cannot).");
  m.def("set_gemm_backend", &set_gemm_backend, py::arg("backend"),
        "Which library computes matrix products: \"auto\" (a loaded BLAS from the size where it wins,\n"
        "Eigen below; the default), \"eigen\" (always Eigen) or \"blas\" (BLAS whenever one is loaded).");
  m.def("get_gemm_backend", &gemm_backend, "The setting of set_gemm_backend.");
  m.def("set_blas_threshold", [](py::handle dtype, double multiply_adds) {
    set_blas_threshold(element_size(dtype, "set_blas_threshold"), multiply_adds);
  }, py::arg("dtype"), py::arg("multiply_adds"),
  "In the \"auto\" backend, the number of multiply-adds m*n*k from which a matrix product of this\n"
  "dtype goes to the loaded BLAS library (bench/python/gemm_backends.py measures the crossover).");
  m.def("get_blas_threshold", [](py::handle dtype) {
    return blas_threshold(element_size(dtype, "get_blas_threshold"));
  }, py::arg("dtype"), "The threshold of set_blas_threshold for this dtype.");
}
