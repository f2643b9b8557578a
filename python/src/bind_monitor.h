// The binding of eg.grad_monitor's collector (eigengrad/monitor.h) in eigengrad._core.
#pragma once

#include <pybind11/pybind11.h>

/// Adds `_GradMonitor`: the context manager (__init__(model), __enter__, __exit__)
/// and the collected records as dicts; eg.GradMonitor (python/eigengrad/monitor.py)
/// subclasses it with the report, to_dict and plot.
void bind_monitor(pybind11::module_& m);
