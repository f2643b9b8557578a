// The class of eg.vmap's batched values and the call into their batching rules
// (Note [vmap dispatch] in batchable.h).
#include "batchable.h"

namespace eigengrad::python {

namespace {
// Set once, at import of eigengrad.batching, under the GIL; read under the GIL.
// Strong references, leaked on purpose (used until the interpreter is gone).
PyTypeObject* batched_type = nullptr;
PyObject* dispatch = nullptr;
}  // namespace

void set_batched_type(py::handle type, py::handle dispatch_fn) {
  if (!PyType_Check(type.ptr())) throw py::type_error("_set_batched_type: expected a class");
  if (!PyCallable_Check(dispatch_fn.ptr())) throw py::type_error("_set_batched_type: expected a callable");
  Py_INCREF(type.ptr());
  Py_INCREF(dispatch_fn.ptr());
  batched_type = reinterpret_cast<PyTypeObject*>(type.ptr());
  dispatch = dispatch_fn.ptr();
}

bool is_batched(py::handle obj) { return batched_type && Py_TYPE(obj.ptr()) == batched_type; }

py::object dispatch_batched(const char* op, py::tuple args) {
  return py::reinterpret_borrow<py::object>(dispatch)(op, args);
}

}  // namespace eigengrad::python
