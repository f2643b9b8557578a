// The bindings of reverse mode, forward mode and custom functions.
#pragma once

#include <pybind11/pybind11.h>

/// Adds _backward, _grad, ForwardLevel, make_dual, tangent, _grad_input,
/// _forward_levels_open and _record_custom to the module `m`.
void bind_autograd(pybind11::module_& m);
