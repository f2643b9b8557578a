// Conversions between Python objects and eigengrad tensors: the only place where
// NumPy arrays, Python scalars and dtype arguments are interpreted.
#pragma once

#include <optional>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "eigengrad/eigengrad.h"

// Shape, Dims (eigengrad::SmallVector) convert like std::vector: from any sequence,
// to a list. Every binding source includes this header, so all of them see it.
namespace pybind11::detail {
template <typename T, std::size_t N>
struct type_caster<eigengrad::SmallVector<T, N>> : list_caster<eigengrad::SmallVector<T, N>, T> {};
}  // namespace pybind11::detail

namespace eigengrad::python {

namespace py = pybind11;

/// None -> nullopt; float32/float64 given as a NumPy dtype, type or name -> DType.
/// A non-float dtype is a TypeError naming `op`.
std::optional<DType> parse_dtype(py::handle dtype, const char* op);

/// Any array-like (ndarray, list, NumPy or Python scalar) as a tensor. A C-contiguous,
/// aligned, writeable, native-order float32/float64 ndarray of the wanted dtype is
/// shared without a copy (the tensor keeps the array alive); anything else (other
/// layouts, integer or bool data, read-only memory) is converted once here.
/// Integer and bool data become float64 unless `dtype` says otherwise.
Tensor tensor_from_python(py::handle obj, std::optional<DType> dtype, const char* op);

/// A NumPy array viewing the tensor's buffer (no copy); it keeps the buffer alive.
py::array tensor_to_numpy(const Tensor& t);

/// A Variable for `obj`: Variables as they are; a list or tuple holding Variables
/// stacked (differentiably, never detached); anything else via tensor_from_python.
Variable to_variable(py::handle obj, const char* op);

/// Each item of `seq` as a Variable (None stays an undefined Variable).
std::vector<Variable> to_variables(py::handle seq, const char* op);

/// g, or None when undefined (a gradient that does not exist).
py::object grad_or_none(const Variable& g);

/// A Python callable that the engine may hold and drop without the GIL.
std::shared_ptr<py::object> hold(py::object fn);

/// Whether `obj` is a list or tuple with a Variable somewhere inside.
bool holds_variables(py::handle obj, int depth = 0);

/// The two operands of a binary op. A plain Python int/float/bool is "weak" (NumPy 2):
/// it takes the dtype of the other operand. NumPy scalars and arrays are not weak.
std::pair<Variable, Variable> to_variable_pair(py::handle x, py::handle y, const char* op);

/// Drops this thread's cached weak-scalar constants (Note [Weak scalar constants]
/// in convert.cpp), so that leak checks see only their own buffers.
void clear_constant_cache();

/// The `axis` argument of reductions: None, an int or a tuple/list of ints.
Axes parse_axes(py::handle axis, const char* op);

/// An integer argument (bools, floats and integers beyond 64 bits raise, naming `op`
/// and `what`).
std::int64_t parse_integer(py::handle obj, const char* op, const char* what);

/// One axis given as an int (bool, float and out-of-range integers raise naming `op`).
std::int64_t parse_axis(py::handle axis, const char* op);

/// A shape given as an int or a sequence of ints.
Shape parse_shape(py::handle shape, const char* op);

}  // namespace eigengrad::python
