// The bindings of eg.linalg (eigengrad/ops.h, namespace linalg).
#pragma once

#include <pybind11/pybind11.h>

/// Adds the submodule `linalg` (solve, inv, det, slogdet, cholesky, qr, eigh, svd and
/// the exception LinAlgError) to the module `m`.
void bind_linalg(pybind11::module_& m);

/// eigengrad.linalg.LinAlgError (a subclass of numpy.linalg.LinAlgError, so of
/// ValueError), for the translator of eigengrad::LinAlgError; made on first use.
PyObject* linalg_error_type();
