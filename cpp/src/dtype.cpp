#include "eigengrad/dtype.h"

namespace eigengrad {

std::size_t itemsize(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

const char* dtype_name(DType dtype) { return dtype == DType::Float32 ? "float32" : "float64"; }

DType promote(DType a, DType b) {
  return (a == DType::Float64 || b == DType::Float64) ? DType::Float64 : DType::Float32;
}

}  // namespace eigengrad
