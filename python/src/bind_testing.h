// The bindings of eigengrad._core._testing: internals for eigengrad's own tests.
#pragma once

#include <pybind11/pybind11.h>

/// Adds the submodule `_testing` (live counters, fault injection, test modes, the
/// sanitizer canary): internals that the tests and tools/reliability use, no API.
void bind_testing(pybind11::module_& m);
