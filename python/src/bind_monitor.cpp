// eg.grad_monitor's collector in eigengrad._core. Binding code only: the engine
// collects (cpp/src/monitor.cpp); here the line of user code is found and the
// records are converted to Python values.
#include "bind_monitor.h"

#include <frameobject.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
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

// Note [Finding the user's line cheaply]
// An active monitor asks, for every op recorded, which line of user code made it:
// the innermost frame whose file is not library code. Walking the frames and
// formatting "file:line" afresh cost about 0.5 us an op, a quarter of a small
// network's step. Two caches make it a few pointer lookups:
//  - per code object, whether it is library code. The cache holds a reference to
//    each code object it knows, so no address is reused by another while cached;
//  - per (code object, instruction offset), the "file:line" string, shared by the
//    nodes of that line. Keyed by the offset, not the line: PyFrame_GetLineNumber
//    decodes the line table on every call and was most of the remaining cost.
// Both are used only under the GIL. They are emptied together when they reach
// kMaxCached entries (code made by exec or eval in a loop), and never destroyed:
// the object is leaked on purpose, so nothing calls into Python at exit.
class UserLines {
 public:
  static UserLines& instance() {
    static auto* lines = new UserLines;
    return *lines;
  }

  /// Sets which files are library code (library_file); eigengrad.monitor calls it
  /// once, at import.
  void configure(std::string skip, std::vector<std::string> keep) {
    py::gil_scoped_acquire gil;
    clear();
    skip_ = std::move(skip);
    keep_ = std::move(keep);
  }

  /// "file:line" of the innermost frame of user code, or null outside Python code.
  /// Takes the GIL: ops may run with it released.
  std::shared_ptr<const std::string> find() {
    py::gil_scoped_acquire gil;
    PyFrameObject* frame = PyEval_GetFrame();  // borrowed
    Py_XINCREF(frame);
    std::shared_ptr<const std::string> where;
    while (frame && !where) {
      PyCodeObject* code = PyFrame_GetCode(frame);
      if (!is_library(code)) where = line_of(frame, code);
      Py_DECREF(code);
      PyFrameObject* back = where ? nullptr : PyFrame_GetBack(frame);
      Py_DECREF(frame);
      frame = back;
    }
    Py_XDECREF(frame);
    if (PyErr_Occurred()) PyErr_Clear();
    return where;
  }

 private:
  static constexpr std::size_t kMaxCached = 4096;

  struct CodeOffset {
    PyCodeObject* code;
    int offset;
    bool operator==(const CodeOffset& o) const { return code == o.code && offset == o.offset; }
  };
  struct CodeOffsetHash {
    std::size_t operator()(const CodeOffset& k) const {
      return std::hash<const void*>{}(k.code) ^ (static_cast<std::size_t>(k.offset) * 0x9E3779B97F4A7C15ull);
    }
  };

  static int instruction_offset(PyFrameObject* frame) {
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame);
#else
    return frame->f_lasti;
#endif
  }

  /// A code object without a readable file name counts as library code (skipped).
  bool is_library(PyCodeObject* code) {
    auto it = library_.find(code);
    if (it != library_.end()) return it->second;
    if (library_.size() >= kMaxCached) clear();
    const char* file = PyUnicode_AsUTF8(code->co_filename);
    const bool library = !file || library_file(file, skip_, keep_);
    Py_INCREF(code);
    library_.emplace(code, library);
    return library;
  }

  /// `code`, the frame's, is in library_ (so alive) when this is called.
  std::shared_ptr<const std::string> line_of(PyFrameObject* frame, PyCodeObject* code) {
    auto [it, fresh] = lines_.try_emplace(CodeOffset{code, instruction_offset(frame)});
    if (fresh)
      it->second = std::make_shared<const std::string>(std::string(PyUnicode_AsUTF8(code->co_filename)) + ":" +
                                                       std::to_string(PyFrame_GetLineNumber(frame)));
    return it->second;
  }

  void clear() {
    lines_.clear();
    for (auto& entry : library_) Py_DECREF(entry.first);
    library_.clear();
  }

  std::string skip_;
  std::vector<std::string> keep_;
  std::unordered_map<PyCodeObject*, bool> library_;
  std::unordered_map<CodeOffset, std::shared_ptr<const std::string>, CodeOffsetHash> lines_;
};

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

// Note [A monitor every step]
// Training loops enter a new monitor every step, so making one and its `with` must
// cost little beside a small network's step (tens of microseconds). The class that
// eg.GradMonitor subclasses therefore does all of it in C++: its __init__ checks the
// model and keeps it, __enter__ and __exit__ start and stop the collector, and no
// Python frame runs for them (about half a microsecond less than Python methods
// calling into a separate _core object).
struct MonitorHandle {
  explicit MonitorHandle(py::object model) : model(std::move(model)) {}
  GradMonitor monitor{[] { return UserLines::instance().find(); }};
  py::object model;  // the eg.nn.Module that names the parameters, or None
};

/// The garbage collector sees the model a monitor holds (a model that refers back to
/// its monitor makes a cycle).
int traverse_monitor(PyObject* self, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
  Py_VISIT(Py_TYPE(self));
#endif
  if (py::detail::is_holder_constructed(self)) Py_VISIT(py::cast<MonitorHandle&>(py::handle(self)).model.ptr());
  return 0;
}

int clear_monitor(PyObject* self) {
  if (py::detail::is_holder_constructed(self)) py::cast<MonitorHandle&>(py::handle(self)).model = py::none();
  return 0;
}

void setup_monitor_type(PyHeapTypeObject* heap_type) {
  PyTypeObject* type = &heap_type->ht_type;
  type->tp_flags |= Py_TPFLAGS_HAVE_GC;
  type->tp_traverse = traverse_monitor;
  type->tp_clear = clear_monitor;
}

}  // namespace

void bind_monitor(py::module_& m) {
  py::class_<MonitorHandle>(m, "_GradMonitor", py::custom_type_setup(setup_monitor_type))
      .def(py::init([](py::object model) {
             if (!model.is_none() && !py::hasattr(model, "named_parameters"))
               throw py::type_error("grad_monitor: model must be an eg.nn.Module (with named_parameters()), got " +
                                    py::str(py::type::handle_of(model).attr("__name__")).cast<std::string>());
             return std::make_unique<MonitorHandle>(std::move(model));
           }),
           py::arg("model") = py::none())
      .def_static(
          "set_library_files",
          [](std::string skip, std::vector<std::string> keep) {
            UserLines::instance().configure(std::move(skip), std::move(keep));
          },
          py::arg("skip_prefix"), py::arg("keep_prefixes"),
          "Files under skip_prefix, except those under one of keep_prefixes, are library code: "
          "the line a monitor reports is the innermost frame outside them.")
      .def(
          "__enter__",
          [](py::object self) {
            self.cast<MonitorHandle&>().monitor.start();
            return self;
          },
          "Starts recording on this thread (RuntimeError when a monitor is active on it).")
      .def(
          "__exit__",
          [](MonitorHandle& self, py::handle, py::handle, py::handle) { self.monitor.stop(); },
          py::arg("exc_type"), py::arg("exc"), py::arg("traceback"), "Stops recording.")
      .def_property_readonly("_model", [](const MonitorHandle& self) { return self.model; })
      .def_property_readonly(
          "passes", [](const MonitorHandle& self) { return self.monitor.passes(); },
          "How many backward (or grad) passes ran while the monitor was active.")
      .def_static(
          "_key", [](const Variable& v) { return reinterpret_cast<std::uintptr_t>(v.impl().get()); },
          "What _parameters() gives as a row's key for the leaf `v`.")
      .def("_parameters",
           [](const MonitorHandle& self) {
             py::list rows;
             for (const GradMonitor::Parameter& p : self.monitor.parameters()) {
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
      .def("_activations",
           [](const MonitorHandle& self) {
             py::list rows;
             for (const GradMonitor::Activation& a : self.monitor.activations()) {
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
      .def("_forward_nonfinite",
           [](const MonitorHandle& self) { return nonfinite(self.monitor.forward_nonfinite()); })
      .def("_backward_nonfinite",
           [](const MonitorHandle& self) { return nonfinite(self.monitor.backward_nonfinite()); });
}
