// The bindings of eigengrad.nn's fused ops and eigengrad.optim's optimizers.
#pragma once

#include <pybind11/pybind11.h>

/// Adds linear, the losses and the optimizer classes to the module `m`.
void bind_nn(pybind11::module_& m);
