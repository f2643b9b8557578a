// Small helpers shared by the C++ tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eigengrad/eigengrad.h"

namespace eigengrad::test_util {

/// A float64 leaf holding `values` (row-major) with `shape`.
inline Variable make_var(const std::vector<double>& values, const Shape& shape,
                         bool requires_grad = false) {
  return Variable(Tensor::from_vector(values, shape), requires_grad);
}

/// Every element of `actual` within `tol` of `expected` (same length).
inline void expect_values_near(const Variable& actual, const std::vector<double>& expected,
                               double tol = 1e-12) {
  ASSERT_TRUE(actual.defined());
  std::vector<double> got = actual.data().to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], expected[i], tol) << "at flat index " << i;
}

/// Whether `text` contains `part` (for checking exception messages).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The what() of the `E` that `f` throws; a test failure if it throws nothing.
/// Exceptions of other types propagate (and fail the test).
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception, none was thrown";
  return "";
}

}  // namespace eigengrad::test_util
