// The binding of eg.grad_monitor's collector (eigengrad/monitor.h) in eigengrad._core.
#pragma once

#include <pybind11/pybind11.h>

/// Adds `_GradMonitor` (start, stop, name_parameter and the collected records as
/// dicts); python/eigengrad/monitor.py builds the user-facing context manager on it.
void bind_monitor(pybind11::module_& m);
