// eigengrad: the element types a tensor can hold.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eigengrad {

/// The element types a tensor can hold.
enum class DType : std::uint8_t { Float32, Float64 };

/// Bytes per element of `dtype`.
std::size_t itemsize(DType dtype);
/// NumPy's name for `dtype`: "float32" or "float64".
const char* dtype_name(DType dtype);
/// NumPy 2 promotion between two float dtypes: the wider one.
DType promote(DType a, DType b);

}  // namespace eigengrad
