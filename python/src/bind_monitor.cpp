// eg.grad_monitor's collector in eigengrad._core. Binding code only: the engine
// collects (cpp/src/monitor.cpp); here the line of user code is found and the
// records are converted to Python values.
#include "bind_monitor.h"

#include <frameobject.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "eigengrad/monitor.h"

namespace py = pybind11;
using namespace eigengrad;

namespace {

/// Whether `file` is library code: under `skip` (the eigengrad package directory)
/// but not under one of `keep` (the package's own applications, the demos), or
/// Python's frozen modules.
bool library_file(const char* file, const std::string& skip, const std::vector<std::string>& keep) {
  if (std::strncmp(file, "<frozen ", 8) == 0) return true;
  if (std::strncmp(file, skip.c_str(), skip.size()) != 0) return false;
  for (const std::string& k : keep)
    if (std::strncmp(file, k.c_str(), k.size()) == 0) return false;
  return true;
}

/// "file:line" of the innermost Python frame of user code (library_file), or ""
/// outside Python code. Takes the GIL: ops may run with it released.
std::string user_line(const std::string& skip, const std::vector<std::string>& keep) {
  py::gil_scoped_acquire gil;
  PyFrameObject* frame = PyEval_GetFrame();  // borrowed
  Py_XINCREF(frame);
  std::string where;
  while (frame) {
    PyCodeObject* code = PyFrame_GetCode(frame);
    const char* file = PyUnicode_AsUTF8(code->co_filename);
    const bool ours = file && library_file(file, skip, keep);
    if (file && !ours) where = std::string(file) + ":" + std::to_string(PyFrame_GetLineNumber(frame));
    Py_DECREF(code);
    if (!where.empty()) break;
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  Py_XDECREF(frame);
  if (PyErr_Occurred()) PyErr_Clear();
  return where;
}

py::tuple shape_tuple(const Shape& shape) {
  py::tuple t(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) t[i] = shape[i];
  return t;
}

py::object nonfinite(const GradMonitor::NonFinite& f) {
  if (!f.found) return py::none();
  py::dict d;
  d["op"] = f.op;
  d["where"] = f.where.empty() ? py::object(py::none()) : py::object(py::str(f.where));
  return std::move(d);
}

}  // namespace

void bind_monitor(py::module_& m) {
  py::class_<GradMonitor>(m, "_GradMonitor")
      .def(py::init([](const std::string& skip, const std::vector<std::string>& keep) {
             return std::make_unique<GradMonitor>([skip, keep] { return user_line(skip, keep); });
           }),
           py::arg("skip_prefix"), py::arg("keep_prefixes"))
      .def("start", &GradMonitor::start)
      .def("stop", &GradMonitor::stop)
      .def_property_readonly("active", &GradMonitor::active)
      .def_property_readonly("passes", &GradMonitor::passes)
      .def("name_parameter", &GradMonitor::name_parameter)
      .def_static(
          "key", [](const Variable& v) { return reinterpret_cast<std::uintptr_t>(v.impl().get()); },
          "What parameters() gives as a row's key for the leaf `v`.")
      .def("parameters",
           [](const GradMonitor& self) {
             py::list rows;
             for (const GradMonitor::Parameter& p : self.parameters()) {
               py::dict d;
               d["name"] = p.label;
               d["key"] = reinterpret_cast<std::uintptr_t>(p.leaf);
               d["shape"] = shape_tuple(p.shape);
               d["norm"] = p.norm;
               d["max_abs"] = p.max_abs;
               rows.append(d);
             }
             return rows;
           })
      .def("activations",
           [](const GradMonitor& self) {
             py::list rows;
             for (const GradMonitor::Activation& a : self.activations()) {
               py::dict d;
               d["op"] = a.op;
               d["shape"] = shape_tuple(a.shape);
               d["dead"] = a.dead;
               d["saturated"] = a.saturated;
               d["where"] = a.where.empty() ? py::object(py::none()) : py::object(py::str(a.where));
               rows.append(d);
             }
             return rows;
           })
      .def("forward_nonfinite", [](const GradMonitor& self) { return nonfinite(self.forward_nonfinite()); })
      .def("backward_nonfinite", [](const GradMonitor& self) { return nonfinite(self.backward_nonfinite()); });
}
