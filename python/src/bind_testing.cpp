// eigengrad._core._testing: internals for the tests and tools/reliability, not API.
// Live counters of graph nodes and buffers, allocation fault injection, the
// saved-reads test mode, a GIL probe, and (in sanitizer builds) the canary.
#include <pybind11/pybind11.h>

#include "bind_testing.h"
#include "convert.h"
#include "eigengrad/variable.h"

namespace py = pybind11;
using namespace eigengrad;

void bind_testing(py::module_& parent) {
  py::module_ m = parent.def_submodule("_testing", "Internals for eigengrad's own tests; no API.");
  m.def("live_nodes", &detail::live_nodes, "How many graph nodes are alive.");
  m.def("live_buffers", [] {
    eigengrad::python::clear_constant_cache();  // not leaks: Note [Weak scalar constants]
    detail::BufferStats s = detail::buffer_stats();
    py::dict d;
    d["owned"] = s.owned;
    d["owned_bytes"] = s.owned_bytes;
    d["borrowed"] = s.borrowed;
    return d;
  }, "Live buffers: owned (count and bytes) and borrowed from NumPy. Drops the calling thread's\n"
        "cached weak-scalar constants first, which are reused, not leaked.");
  m.def("fail_allocations_after", &detail::fail_allocations_after, py::arg("n"),
        "Fault injection: after n more buffer allocations, each one raises MemoryError; n < 0 disarms.");
  m.def("allocation_count", &detail::allocation_count, "Buffer allocations made so far.");
  m.def("counter_blocks", &detail::counter_blocks,
        "Per-thread blocks of the live counters (reused: the most threads alive at once).");
  m.def("check_saved_reads", &detail::set_check_saved_reads, py::arg("on"),
        "Test mode: check every recorded op's captures against its saved-reads table entry.");
  m.def("gil_held", [] { return PyGILState_Check() == 1; }, "Whether the calling thread holds the GIL.");
#ifdef EIGENGRAD_SANITIZER_CANARY
  // Present only in sanitizer builds (.ci/sanitize): proves that the sanitizers see
  // the core library's code by doing what they must report.
  m.def("sanitizer_canary", &detail::sanitizer_canary, py::arg("kind"));
#endif
}
