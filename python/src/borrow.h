// NumPy memory that eigengrad borrows, and eigengrad buffers that NumPy views
// (Note [Borrowed memory] in borrow.cpp). Call everything here with the GIL held.
#pragma once

#include <cstddef>
#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "eigengrad/tensor.h"

namespace eigengrad::python {

namespace py = pybind11;

/// The capsule name of the NumPy arrays that view eigengrad buffers.
inline constexpr const char* kStorageCapsule = "eigengrad.storage";

/// The Storage behind an eigengrad-made array's base capsule, or null.
std::shared_ptr<Storage> capsule_storage(PyObject* base);

/// The Storage behind `arr` when `arr` is a NumPy view that eigengrad made of one of
/// its own buffers (v.numpy(), np.asarray(v)) starting at the buffer's first byte:
/// then a Variable made from it shares the buffer and its version counter.
std::shared_ptr<Storage> own_storage(const py::array& arr, std::size_t nbytes);

/// Keeps a private NumPy array alive for as long as a Storage borrows its memory;
/// the last reference may be dropped without the GIL, so it is taken first.
std::shared_ptr<void> keep_alive(py::object array);

/// A Storage over `arr`'s memory (`nbytes` from `data`, its first element), shared
/// with NumPy: one lender per array object (kept alive, made read-only while a
/// backward rule keeps its values), one version counter per memory.
std::shared_ptr<Storage> borrowed_storage(const py::array& arr, void* data, std::size_t nbytes);

}  // namespace eigengrad::python
