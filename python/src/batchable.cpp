// The class of eg.vmap's batched values and the call into their batching rules
// (Note [vmap dispatch] in batchable.h).
#include "batchable.h"

namespace eigengrad::python {

namespace {
// Set once, at import of eigengrad.batching, under the GIL; read under the GIL.
// A strong reference, leaked on purpose (used until the interpreter is gone).
PyTypeObject* batched_type = nullptr;
}  // namespace

void set_batched_type(py::handle type) {
  if (!PyType_Check(type.ptr())) throw py::type_error("_set_batched_type: expected a class");
  Py_INCREF(type.ptr());
  batched_type = reinterpret_cast<PyTypeObject*>(type.ptr());
}

bool is_batched(py::handle obj) { return batched_type && Py_TYPE(obj.ptr()) == batched_type; }

py::object dispatch_batched(const char* op, py::tuple args) {
  // Looked up per call: only batched calls come here, and they do a whole batch's work.
  return py::module_::import("eigengrad.batching").attr("dispatch")(op, args);
}

}  // namespace eigengrad::python
