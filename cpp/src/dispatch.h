// The one place where a runtime dtype becomes a compile-time element type.
#pragma once

#include "eigengrad/dtype.h"

namespace eigengrad {

template <class T>
struct TypeTag {
  using type = T;
};

/// Calls `fn(TypeTag<float>{})` or `fn(TypeTag<double>{})` for `dtype`.
template <class Fn>
decltype(auto) dispatch(DType dtype, Fn&& fn) {
  if (dtype == DType::Float32) return fn(TypeTag<float>{});
  return fn(TypeTag<double>{});
}

}  // namespace eigengrad
