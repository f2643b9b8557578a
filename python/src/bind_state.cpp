// A Variable's state beyond one call, in eigengrad._core: in-place writes (copy_) and
// version counters, gradient hooks (with garbage-collector support), and the Ctrl-C
// check of long backward passes. Binding code only: the C++ core does the work.
#include "bind_state.h"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "batchable.h"
#include "convert.h"
#include "eigengrad/engine.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

namespace {

/// A gradient hook written in Python. The engine may copy and drop it without the
/// GIL, so the callable is held through a deleter that takes the GIL.
/// A post-accumulate hook is called with the leaf and must return None.
struct PyHook {
  std::shared_ptr<py::object> fn;
  bool post_accumulate = false;

  Variable operator()(const Variable& arg) const {
    py::gil_scoped_acquire gil;
    py::object result = (*fn)(arg);
    if (result.is_none()) return Variable();
    if (post_accumulate)
      throw py::type_error("post-accumulate-grad hook: the hook must return None (it got " +
                           std::string(py::str(py::type::of(result).attr("__name__"))) +
                           "); to change the gradient, use register_hook or write p.grad");
    return to_variable(result, "hook");
  }
};

/// What register_hook returns: `remove()` takes the hook off again.
class HookHandle {
 public:
  HookHandle(Variable variable, int id) : variable_(std::move(variable)), id_(id) {}
  bool remove() { return variable_.defined() && std::exchange(variable_, Variable()).remove_hook(id_); }

 private:
  Variable variable_;
  int id_;
};

/// The node whose hooks a Python Variable alone reaches: its grad_fn or gradient
/// accumulator, when this Python object is the only owner of the Variable's state
/// and that state the only owner of the node. Then every hook object visited below
/// is referenced from this Python object alone, as the garbage collector requires.
Node* uniquely_owned_node(PyObject* self) {
  if (!py::detail::is_holder_constructed(self)) return nullptr;
  const Variable& v = py::cast<const Variable&>(py::handle(self));
  const std::shared_ptr<VariableImpl>& impl = v.impl();
  if (!impl || impl.use_count() != 1) return nullptr;
  const std::shared_ptr<Node>& node = impl->grad_fn ? impl->grad_fn : impl->grad_accumulator;
  if (!node || node.use_count() != 1 || !node->has_hooks()) return nullptr;
  return node.get();
}

int traverse_variable(PyObject* self, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
  Py_VISIT(Py_TYPE(self));
#endif
  if (Node* node = uniquely_owned_node(self)) {
    int status = 0;
    node->visit_hooks([&](const GradHook& hook) {
      const PyHook* py_hook = hook.target<PyHook>();
      if (status == 0 && py_hook && py_hook->fn.use_count() == 1) status = visit(py_hook->fn->ptr(), arg);
    });
    if (status) return status;
  }
  return 0;
}

int clear_variable(PyObject* self) {
  if (Node* node = uniquely_owned_node(self)) node->clear_hooks();
  return 0;
}

// ---- Ctrl-C during backward ---------------------------------------------------------

unsigned long main_thread_id = 0;
std::atomic<std::int64_t> last_signal_check{0};
constexpr std::int64_t kSignalCheckNanoseconds = 20'000'000;  // at most every 20 ms

/// Installed as the engine's interrupt check: on the main thread (where Python runs
/// signal handlers), at most every 20 ms, it takes the GIL and runs pending signal
/// handlers; a KeyboardInterrupt they raise abandons the backward pass.
void check_signals() {
  if (PyThread_get_thread_ident() != main_thread_id) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  if (now - last_signal_check.load(std::memory_order_relaxed) < kSignalCheckNanoseconds) return;
  last_signal_check.store(now, std::memory_order_relaxed);
  if (!Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

}  // namespace

void setup_variable_type(PyHeapTypeObject* heap_type) {
  PyTypeObject* type = &heap_type->ht_type;
  type->tp_flags |= Py_TPFLAGS_HAVE_GC;
  type->tp_traverse = traverse_variable;
  type->tp_clear = clear_variable;
}

void bind_state(py::module_& m, py::class_<Variable>& cls) {
  // ---- in-place writes and versions ------------------------------------------------
  cls.def("copy_", [](py::object self, py::handle value) {
    Variable v = to_variable(value, "copy_");
    self.cast<const Variable&>().copy_(v);
    return self;
  }, py::arg("value"),
  "Writes `value` (broadcast, converted to this dtype) into this Variable's buffer in place and\n"
  "bumps its version; every view of the buffer sees it, and a backward that saved the old values\n"
  "raises. Needs grad mode off when the Variable requires grad. Returns self.");
  cls.def_property_readonly("_version", &Variable::version,
                            "How many in-place writes eigengrad has made to this Variable's buffer.");
  m.def("_to_variable", batchable("_to_variable", [](py::handle x, const std::string& op) {
    return to_variable(x, op.c_str());
  }), py::arg("x"), py::arg("op"), "x as a Variable (conversion errors name `op`; a batched value of eg.vmap as it is).");
  m.def("_has_tangents", [](const Variable& v) { return !v.impl()->tangents.empty(); },
        "Whether v carries forward-mode tangents.");

  // ---- hooks -------------------------------------------------------------------------
  py::class_<HookHandle>(m, "HookHandle", "Returned by Variable.register_hook; remove() takes the hook off.")
      .def("remove", &HookHandle::remove, "Removes the hook; False if it was already removed.");
  cls.def("register_hook", [](const Variable& v, py::function fn) {
    return HookHandle(v, v.register_hook(PyHook{hold(std::move(fn))}));
  }, py::arg("hook"),
  "Calls hook(grad) with this Variable's gradient in every backward that computes it (for a leaf,\n"
  "before accumulating into .grad); a returned Variable or array replaces the gradient, None keeps\n"
  "it. Returns a handle whose remove() takes the hook off.");
  cls.def("register_post_accumulate_grad_hook", [](const Variable& v, py::function fn) {
    return HookHandle(v, v.register_post_accumulate_grad_hook(PyHook{hold(std::move(fn)), true}));
  }, py::arg("hook"),
  "Calls hook(variable) on this leaf in every backward() once its .grad holds the pass's whole\n"
  "gradient, while the rest of the backward is still to run (data-parallel training starts its\n"
  "gradient reduction here). The hook must return None. Not called by eg.grad and other\n"
  "transforms, which do not accumulate. Returns a handle whose remove() takes the hook off.");

  // ---- Ctrl-C ------------------------------------------------------------------------
  main_thread_id = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  detail::set_interrupt_check(&check_signals);
}
