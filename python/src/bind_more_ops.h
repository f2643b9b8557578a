// The bindings of the scans, rearrangements and indexing ops of issue 14
// (cumsum ... argmin; cpp/src/ops/scan.cpp, rearrange.cpp, index.cpp).
#pragma once

#include <pybind11/pybind11.h>

#include "eigengrad/variable.h"

/// Adds the functions to `m` and NumPy's methods of the same names to `cls`.
void bind_more_ops(pybind11::module_& m, pybind11::class_<eigengrad::Variable>& cls);
