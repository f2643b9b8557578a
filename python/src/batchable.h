// Note [vmap dispatch]
// eg.vmap runs the user's function on batched values (eigengrad.batching's
// BatchedVariable: a Variable with a hidden leading batch axis). The core's ops do
// not know about them. Instead, each op binding is wrapped by `batchable`: the
// conversions (convert.h) throw BatchedArgument when they meet a batched value, and
// the wrapper then hands the op's name and its arguments (in signature order, with
// defaults filled in) to eigengrad.batching.dispatch, which applies the op's batching
// rule: the same op once on the whole batch, not a loop. Unbatched calls pay nothing
// but a type comparison in the conversions they already make.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <pybind11/pybind11.h>

namespace eigengrad::python {

namespace py = pybind11;

/// Thrown by the conversions on a batched value of eg.vmap (Note [vmap dispatch]).
/// Escaping from a binding that is not batchable, it is a TypeError naming `op`.
class BatchedArgument : public std::exception {
 public:
  explicit BatchedArgument(std::string op)
      : message_(op + ": does not take a value batched by eg.vmap (no batching rule here); "
                      "call it outside the vmapped function") {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// Sets the class of eg.vmap's batched values and the function that applies the
/// batching rules (eigengrad.batching calls it once, at import).
void set_batched_type(py::handle type, py::handle dispatch);

/// Whether `obj` is a batched value of eg.vmap.
bool is_batched(py::handle obj);

/// Throws BatchedArgument when `obj` is a batched value.
inline void reject_batched(py::handle obj, const char* op) {
  if (is_batched(obj)) throw BatchedArgument(op);
}

/// dispatch(op, args), the function given to set_batched_type: the batching rule of
/// `op` applied.
py::object dispatch_batched(const char* op, py::tuple args);

/// A binding's result: what the op returns (R) or, when an argument was batched, the
/// batching rule's result. Signatures and stubs show R.
template <class R>
class Returns : public py::object {
 public:
  using py::object::object;
  explicit Returns(py::object o) : py::object(std::move(o)) {}
};

namespace batchable_detail {
template <class R>
py::object to_object(R&& result) {
  if constexpr (std::is_base_of_v<py::handle, std::decay_t<R>>)
    return py::object(std::forward<R>(result));
  else
    return py::cast(std::forward<R>(result));
}

/// Whether an argument is itself a batched value (the cheap check before the call;
/// batched values inside lists are found by the conversions, which throw).
template <class T>
bool batched_argument(const T& arg) {
  if constexpr (std::is_base_of_v<py::handle, T>)
    return is_batched(arg);
  else
    return false;
}

template <class F, class R, class C, class... A>
auto make_batchable(const char* op, F fn, R (C::*)(A...) const) {
  return [op, fn = std::move(fn)](A... args) -> Returns<R> {
    if ((batched_argument(args) || ...)) return Returns<R>(dispatch_batched(op, py::make_tuple(args...)));
    try {
      return Returns<R>(to_object(fn(args...)));
    } catch (const BatchedArgument&) {
      return Returns<R>(dispatch_batched(op, py::make_tuple(args...)));
    }
  };
}
}  // namespace batchable_detail

/// `fn` (a lambda taking Python handles and plain values) as the binding of op `op`
/// that sends batched arguments to the op's batching rule (Note [vmap dispatch]).
template <class F>
auto batchable(const char* op, F fn) {
  return batchable_detail::make_batchable(op, std::move(fn), &F::operator());
}

}  // namespace eigengrad::python

namespace pybind11::detail {
template <class R>
struct handle_type_name<eigengrad::python::Returns<R>> {
  static constexpr auto name = make_caster<R>::name;
};
}  // namespace pybind11::detail
