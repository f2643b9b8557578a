// Bindings of eg.linalg: conversion only; the C++ ops validate and compute.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bind_linalg.h"
#include "batchable.h"
#include "convert.h"
#include "eigengrad/memory.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

PyObject* linalg_error_type() {
  // Leaked on purpose, as the translator's other classes: it may be used until the
  // interpreter is gone.
  static PyObject* type = [] {
    py::object base = py::module_::import("numpy.linalg").attr("LinAlgError");
    return PyErr_NewExceptionWithDoc(
        "eigengrad.linalg.LinAlgError",
        "A matrix eg.linalg cannot take: singular (solve, inv), not positive definite (cholesky), "
        "NaN or inf given to an iterative method (eigh, svd). A numpy.linalg.LinAlgError, so a ValueError.",
        base.ptr(), nullptr);
  }();
  return type;
}

namespace {
template <class Fn>
auto run(const char* op, Fn&& fn) {
  AllocationLabel label(op);
  return fn();
}
}  // namespace

void bind_linalg(py::module_& m) {
  py::module_ lin = m.def_submodule("linalg", "eg.linalg's ops (use eigengrad.linalg).");
  lin.attr("LinAlgError") = py::handle(linalg_error_type());
  lin.def("solve", batchable("solve", [](py::handle a, py::handle b) {
    Variable x = to_variable(a, "solve"), y = to_variable(b, "solve");
    return run("solve", [&] { return linalg::solve(x, y); });
  }), py::arg("a"), py::arg("b"));
  lin.def("inv", batchable("inv", [](py::handle a) {
    Variable x = to_variable(a, "inv");
    return run("inv", [&] { return linalg::inv(x); });
  }), py::arg("a"));
  lin.def("det", batchable("det", [](py::handle a) {
    Variable x = to_variable(a, "det");
    return run("det", [&] { return linalg::det(x); });
  }), py::arg("a"));
  lin.def("slogdet", batchable("slogdet", [](py::handle a) {
    Variable x = to_variable(a, "slogdet");
    linalg::Slogdet r = run("slogdet", [&] { return linalg::slogdet(x); });
    return py::make_tuple(r.sign, r.logabsdet);
  }), py::arg("a"));
  lin.def("cholesky", batchable("cholesky", [](py::handle a, bool upper) {
    Variable x = to_variable(a, "cholesky");
    return run("cholesky", [&] { return linalg::cholesky(x, upper); });
  }), py::arg("a"), py::arg("upper") = false);
  lin.def("qr", batchable("qr", [](py::handle a, bool complete) {
    Variable x = to_variable(a, "qr");
    linalg::QR r = run("qr", [&] { return linalg::qr(x, complete); });
    return py::make_tuple(r.Q, r.R);
  }), py::arg("a"), py::arg("complete") = false);
  lin.def("eigh", batchable("eigh", [](py::handle a, bool upper) {
    Variable x = to_variable(a, "eigh");
    linalg::Eigh r = run("eigh", [&] { return linalg::eigh(x, upper); });
    return py::make_tuple(r.eigenvalues, r.eigenvectors);
  }), py::arg("a"), py::arg("upper") = false);
  lin.def("svd", batchable("svd", [](py::handle a, bool full_matrices) {
    Variable x = to_variable(a, "svd");
    linalg::SVD r = run("svd", [&] { return linalg::svd(x, full_matrices); });
    return py::make_tuple(r.U, r.S, r.Vh);
  }), py::arg("a"), py::arg("full_matrices") = false);
}
