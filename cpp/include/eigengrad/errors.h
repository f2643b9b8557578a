// eigengrad: the exception types of the C++ API.
//
// The Python bindings translate them in one place:
//   std::invalid_argument -> ValueError      (bad shapes, bad values)
//   eigengrad::LinAlgError -> eg.linalg.LinAlgError (a numpy.linalg.LinAlgError, so a ValueError)
//   eigengrad::TypeError  -> TypeError       (bad dtypes, bad argument kinds)
//   eigengrad::AxisError  -> numpy.exceptions.AxisError (a ValueError and IndexError)
//   std::out_of_range     -> IndexError      (indices out of bounds)
//   std::bad_alloc, eigengrad::OutOfMemory -> MemoryError
//   std::runtime_error    -> RuntimeError    (misuse of the graph: second backward, ...)
#pragma once

#include <new>
#include <stdexcept>
#include <string>

namespace eigengrad {

/// An argument of the wrong kind or dtype.
class TypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
  ~TypeError() override;
};

/// An axis outside [-ndim, ndim) or repeated.
class AxisError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
  ~AxisError() override;
};

/// A matrix that the linear-algebra op cannot take: singular (solve, inv), not
/// positive definite (cholesky), non-finite input to an iterative method (eigh, svd).
class LinAlgError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
  ~LinAlgError() override;
};

/// An allocation that can never fit, refused by a size check before allocating.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string message) : message_(std::move(message)) {}
  ~OutOfMemory() override;
  const char* what() const noexcept override;

 private:
  std::string message_;
};

/// A broken internal invariant (an Eigen assertion, for one). Never user error.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
  ~InternalError() override;
};

}  // namespace eigengrad
