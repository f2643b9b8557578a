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
// calls return: about 0.25 us an op (a 64-32-10 network's monitored forward, 4 ops,
// took 1.1 us longer with the line search than without; reading the records as
// below, 0.25 us longer). On 3.11 the walk therefore reads the interpreter's own
// frame records (the internal header pycore_frame.h: code object, last instruction,
// previous frame), skipping incomplete frames as PyFrame_GetBack does; the line
// comes from PyCode_Addr2Line as PyFrame_GetLineNumber computes it. Other versions
// lay these records out differently and use the frame objects.
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
  /// Takes the GIL when the thread does not hold it (ops may run with it released).
  std::shared_ptr<const std::string> find() {
    if (PyGILState_Check()) return find_holding_gil();
    py::gil_scoped_acquire gil;
    return find_holding_gil();
  }

 private:
  std::shared_ptr<const std::string> find_holding_gil() {
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
// eg.GradMonitor subclasses therefore does all of it natively: its __init__ checks
// the model and keeps it, __enter__ and __exit__ start and stop the collector, and no
// Python frame runs for them. __enter__ and __exit__ are plain CPython methods, not
// pybind11 ones: its dispatcher cost about 0.15 us a call, half of the `with`.
struct MonitorHandle {
  explicit MonitorHandle(py::object model) : model(std::move(model)) {}
  GradMonitor monitor{[] { return UserLines::instance().find(); }};
  py::object model;  // the eg.nn.Module that names the parameters, or None
};

/// The MonitorHandle of `self`, an instance of _GradMonitor or of a subclass (its
/// only pybind11 base), or null when its __init__ has not run.
MonitorHandle* handle_of(PyObject* self) {
  py::detail::value_and_holder v_h = reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
  return v_h.holder_constructed() ? v_h.value_ptr<MonitorHandle>() : nullptr;
}

/// Runs `fn` on self's monitor; a C++ exception becomes RuntimeError (what
/// GradMonitor::start and stop throw).
template <class Fn>
bool with_monitor(PyObject* self, Fn fn) {
  MonitorHandle* handle = handle_of(self);
  if (!handle) {
    PyErr_SetString(PyExc_RuntimeError, "grad_monitor: the monitor was not initialised (__init__ did not run)");
    return false;
  }
  try {
    fn(handle->monitor);
    return true;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return false;
  }
}

/// __init__(self, model=None): what pybind11's dispatcher does for a py::init
/// factory (the value, then the holder), without its argument matching, which cost
/// about 0.2 us.
PyObject* init_monitor(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* model = nargs > 0 ? args[0] : Py_None;
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  if (nargs + nkw > 1 || (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "model") != 0)) {
    PyErr_SetString(PyExc_TypeError, "grad_monitor: takes one argument, model=None");
    return nullptr;
  }
  if (nkw == 1) model = args[0];
  static PyObject* const named_parameters = PyUnicode_InternFromString("named_parameters");
  if (model != Py_None && !PyObject_HasAttr(model, named_parameters)) {
    PyErr_Format(PyExc_TypeError, "grad_monitor: model must be an eg.nn.Module (with named_parameters()), got %s",
                 _PyType_Name(Py_TYPE(model)));
    return nullptr;
  }
  static const py::detail::type_info* const info = py::detail::get_type_info(typeid(MonitorHandle));
  auto* inst = reinterpret_cast<py::detail::instance*>(self);
  py::detail::value_and_holder v_h(inst, info, 0, 0);  // the only C++ base (simple layout)
  if (v_h.holder_constructed()) {
    PyErr_SetString(PyExc_RuntimeError, "grad_monitor: __init__ called twice");
    return nullptr;
  }
  try {
    // The holder, as init_instance would make it, but the instance is not registered:
    // nothing looks a monitor up by its C++ address (pybind11 deallocates unregistered
    // instances), and the registry is a map of every live bound object.
    using Holder = std::unique_ptr<MonitorHandle>;
    v_h.value_ptr() = new MonitorHandle(py::reinterpret_borrow<py::object>(model));
    new (std::addressof(v_h.holder<Holder>())) Holder(v_h.value_ptr<MonitorHandle>());
    v_h.set_holder_constructed();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* enter_monitor(PyObject* self, PyObject*) {
  if (!with_monitor(self, [](GradMonitor& m) { m.start(); })) return nullptr;
  Py_INCREF(self);
  return self;
}

PyObject* exit_monitor(PyObject* self, PyObject* const*, Py_ssize_t) {
  if (!with_monitor(self, [](GradMonitor& m) { m.stop(); })) return nullptr;
  Py_RETURN_NONE;
}

PyMethodDef init_method{"__init__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(init_monitor)),
                        METH_FASTCALL | METH_KEYWORDS,
                        "__init__($self, /, model=None)\n--\n\n"
                        "A monitor; model (an eg.nn.Module, or None) names the parameters."};
PyMethodDef enter_method{"__enter__", enter_monitor, METH_NOARGS,
                         "__enter__($self, /)\n--\n\n"
                         "Starts recording on this thread (RuntimeError when a monitor is active on it)."};
PyMethodDef exit_method{"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(exit_monitor)),
                        METH_FASTCALL, "__exit__($self, exc_type, exc, traceback, /)\n--\n\nStops recording."};

/// The garbage collector sees the model a monitor holds (a model that refers back to
/// its monitor makes a cycle).
int traverse_monitor(PyObject* self, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
  Py_VISIT(Py_TYPE(self));
#endif
  if (MonitorHandle* handle = handle_of(self)) Py_VISIT(handle->model.ptr());
  return 0;
}

int clear_monitor(PyObject* self) {
  if (MonitorHandle* handle = handle_of(self)) handle->model = py::none();
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
  py::class_<MonitorHandle> cls(m, "_GradMonitor", py::custom_type_setup(setup_monitor_type));
  auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  for (PyMethodDef* method : {&init_method, &enter_method, &exit_method})
    cls.attr(method->ml_name) = py::reinterpret_steal<py::object>(PyDescr_NewMethod(type, method));
  cls
      .def_static(
          "set_library_files",
          [](std::string skip, std::vector<std::string> keep) {
            UserLines::instance().configure(std::move(skip), std::move(keep));
          },
          py::arg("skip_prefix"), py::arg("keep_prefixes"),
          "Files under skip_prefix, except those under one of keep_prefixes, are library code: "
          "the line a monitor reports is the innermost frame outside them.")
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
