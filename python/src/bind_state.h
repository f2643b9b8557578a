// The bindings of a Variable's state beyond one call: in-place writes and version
// counters, gradient hooks (with garbage-collector support) and the Ctrl-C check of
// long backward passes.
#pragma once

#include <pybind11/pybind11.h>

#include "eigengrad/variable.h"

/// Adds the entry points above to the module `m` and its Variable class `cls`.
void bind_state(pybind11::module_& m, pybind11::class_<eigengrad::Variable>& cls);


/// pybind11 type setup for Variable: garbage-collector support, so that a cycle
/// through a gradient hook (a hook that refers to its own Variable) is collected.
void setup_variable_type(PyHeapTypeObject* heap_type);
