// eg.grad_monitor's collector in eigengrad._core. Binding code only: the engine
// collects (cpp/src/monitor.cpp); here the line of user code is found and the
// records are converted to Python values.
#include "bind_monitor.h"

#include <frameobject.h>
#include <pybind11/stl.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && !defined(PYPY_VERSION)
// Note [Walking the interpreter's frames], below.
#define EIGENGRAD_WALK_INTERPRETER_FRAMES 1
#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE
#endif

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
// Each cache has a small direct-mapped table in front of its hash map (a hit is a
// load and a compare; the map's lookup divides by its bucket count).
// Both are used only under the GIL. They are emptied together when they reach
// kMaxCached entries (code made by exec or eval in a loop), and never destroyed:
// the object is leaked on purpose, so nothing calls into Python at exit.
//
// Note [Walking the interpreter's frames]
// PyEval_GetFrame and PyFrame_GetBack give frame objects, which CPython 3.11 makes
// on demand: asking for the frames of an op called through a module's __call__,
// forward and a functional creates three or four objects, freed again when those
// calls return. That was about 0.3 us an op (measured: a 64-32-10 network's
// monitored forward, 4 ops, took 1.1 us longer with the line search than without).
// On 3.11 the walk therefore reads the interpreter's own frame records (the
// internal header pycore_frame.h: code object, last instruction, previous frame),
// skipping incomplete frames as PyFrame_GetBack does; the line comes from
// PyCode_Addr2Line as PyFrame_GetLineNumber computes it. Other versions lay these
// records out differently and use the frame objects.
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
#ifdef EIGENGRAD_WALK_INTERPRETER_FRAMES
    for (_PyInterpreterFrame* frame = PyThreadState_Get()->cframe->current_frame; frame; frame = frame->previous) {
      if (_PyFrame_IsIncomplete(frame)) continue;
      PyCodeObject* code = frame->f_code;
      if (is_library(code)) continue;
      const int offset = _PyInterpreterFrame_LASTI(frame) * static_cast<int>(sizeof(_Py_CODEUNIT));
      return line_of(code, offset, [&] { return PyCode_Addr2Line(code, offset); });
    }
    return nullptr;
#else
    PyFrameObject* frame = PyEval_GetFrame();  // borrowed
    Py_XINCREF(frame);
    std::shared_ptr<const std::string> where;
    while (frame && !where) {
      PyCodeObject* code = PyFrame_GetCode(frame);
      if (!is_library(code)) where = line_of(code, instruction_offset(frame), [&] { return PyFrame_GetLineNumber(frame); });
      Py_DECREF(code);
      PyFrameObject* back = where ? nullptr : PyFrame_GetBack(frame);
      Py_DECREF(frame);
      frame = back;
    }
    Py_XDECREF(frame);
    if (PyErr_Occurred()) PyErr_Clear();
    return where;
#endif
  }

 private:
  static constexpr std::size_t kMaxCached = 4096;
  static constexpr std::size_t kFront = 64;  // entries of each direct-mapped front table

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
  static std::size_t front_slot(const void* p, std::size_t salt = 0) {
    return ((reinterpret_cast<std::uintptr_t>(p) >> 4) ^ (salt * 0x9E3779B1u)) % kFront;
  }

#ifndef EIGENGRAD_WALK_INTERPRETER_FRAMES
  static int instruction_offset(PyFrameObject* frame) {
#if PY_VERSION_HEX >= 0x030B0000
    return PyFrame_GetLasti(frame);
#else
    return frame->f_lasti;
#endif
  }
#endif

  /// A code object without a readable file name counts as library code (skipped).
  bool is_library(PyCodeObject* code) {
    FrontCode& front = front_code_[front_slot(code)];
    if (front.code == code) return front.library;
    auto it = library_.find(code);
    if (it == library_.end()) {
      if (library_.size() >= kMaxCached) clear();
      const char* file = PyUnicode_AsUTF8(code->co_filename);
      if (!file) PyErr_Clear();
      Py_INCREF(code);
      it = library_.emplace(code, !file || library_file(file, skip_, keep_)).first;
    }
    front = FrontCode{code, it->second};
    return it->second;
  }

  /// `code` is in library_ (so alive) when this is called; `line()` gives the line
  /// number of `offset` when it is not cached.
  template <class Line>
  std::shared_ptr<const std::string> line_of(PyCodeObject* code, int offset, Line line) {
    FrontLine& front = front_line_[front_slot(code, static_cast<std::size_t>(offset))];
    if (front.code == code && front.offset == offset) return front.where;
    auto [it, fresh] = lines_.try_emplace(CodeOffset{code, offset});
    if (fresh)
      it->second = std::make_shared<const std::string>(std::string(PyUnicode_AsUTF8(code->co_filename)) + ":" +
                                                       std::to_string(line()));
    front = FrontLine{code, offset, it->second};
    return it->second;
  }

  void clear() {
    for (FrontCode& f : front_code_) f = FrontCode{};
    for (FrontLine& f : front_line_) f = FrontLine{};
    lines_.clear();
    for (auto& entry : library_) Py_DECREF(entry.first);
    library_.clear();
  }

  struct FrontCode {
    PyCodeObject* code = nullptr;
    bool library = false;
  };
  struct FrontLine {
    PyCodeObject* code = nullptr;
    int offset = 0;
    std::shared_ptr<const std::string> where;
  };

  std::string skip_;
  std::vector<std::string> keep_;
  std::unordered_map<PyCodeObject*, bool> library_;
  std::unordered_map<CodeOffset, std::shared_ptr<const std::string>, CodeOffsetHash> lines_;
  FrontCode front_code_[kFront];
  FrontLine front_line_[kFront];
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
