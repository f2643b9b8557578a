#include "convert.h"

#include "batchable.h"
#include "borrow.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <limits>
#include <string>

namespace eigengrad::python {

namespace {

py::module_& numpy() {
  // Leaked on purpose: a static py::object would be released after the interpreter
  // is gone, at process exit.
  static py::module_* np = new py::module_(py::module_::import("numpy"));
  return *np;
}

py::object& ndarray_type() {
  static py::object* type = new py::object(numpy().attr("ndarray"));  // leaked, as numpy()
  return *type;
}

py::object& masked_array_type() {
  static py::object* type = new py::object(numpy().attr("ma").attr("MaskedArray"));
  return *type;
}

bool is_weak_scalar(py::handle obj) {
  // Exact Python types only: np.float64 subclasses float but is not weak.
  return PyFloat_CheckExact(obj.ptr()) || PyLong_CheckExact(obj.ptr()) || PyBool_Check(obj.ptr());
}

DType default_dtype(const py::dtype& dt) {
  if (dt.kind() == 'f' && dt.itemsize() <= 4) return DType::Float32;  // float16 widens to float32
  return DType::Float64;
}

}  // namespace

std::optional<DType> parse_dtype(py::handle dtype, const char* op) {
  if (dtype.is_none()) return std::nullopt;
  py::dtype dt;
  try {
    dt = py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype));
  } catch (py::error_already_set&) {
    throw TypeError(std::string(op) + ": cannot interpret " + py::repr(dtype).cast<std::string>() +
                    " as a dtype");
  }
  if (dt.kind() == 'f' && dt.itemsize() == 4) return DType::Float32;
  if (dt.kind() == 'f' && dt.itemsize() == 8) return DType::Float64;
  throw TypeError(std::string(op) + ": dtype must be float32 or float64, got " +
                  py::str(dt).cast<std::string>());
}

Tensor tensor_from_python(py::handle obj, std::optional<DType> dtype, const char* op) {
  reject_batched(obj, op);  // Note [vmap dispatch]
  py::object array;
  if (py::isinstance<py::array>(obj)) {
    array = py::reinterpret_borrow<py::object>(obj);
    if (Py_TYPE(obj.ptr()) != reinterpret_cast<PyTypeObject*>(ndarray_type().ptr()) &&
        py::isinstance(obj, masked_array_type()))
      throw TypeError(std::string(op) + ": masked arrays are not supported (the mask would be ignored); "
                      "pass m.filled(value) or m.data");
  } else {
    try {
      array = numpy().attr("asarray")(obj);
    } catch (py::error_already_set& e) {
      // Only a value NumPy cannot read is a TypeError; MemoryError, KeyboardInterrupt
      // and the like pass through as they are.
      if (!e.matches(PyExc_ValueError) && !e.matches(PyExc_TypeError) && !e.matches(PyExc_OverflowError)) throw;
      throw TypeError(std::string(op) + ": cannot convert " + py::str(py::type::of(obj)).cast<std::string>() +
                      " to an array: " + e.what());
    }
  }
  py::array arr = py::reinterpret_borrow<py::array>(array);
  py::dtype dt = arr.dtype();
  const char kind = dt.kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw TypeError(std::string(op) + ": unsupported array dtype " + py::str(dt).cast<std::string>() +
                    " (eigengrad computes in float32 or float64; real numbers and bools convert)");
  if (dt.has_fields())
    throw TypeError(std::string(op) + ": structured dtypes are not supported");
  const DType target = dtype.value_or(default_dtype(dt));
  const std::int64_t want_size = static_cast<std::int64_t>(itemsize(target));
  const int flags = py::detail::array_proxy(arr.ptr())->flags;
  const bool exact = kind == 'f' && dt.itemsize() == want_size && dt.byteorder() != '>' &&
                     (flags & py::array::c_style) && (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_) &&
                     (flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_);
  if (!exact) {
    // The one conversion: any layout, byte order or real dtype to a fresh
    // C-contiguous native array of the target dtype.
    arr = py::reinterpret_steal<py::array>(numpy()
                                               .attr("array")(arr, py::arg("dtype") = dtype_name(target),
                                                              py::arg("order") = "C", py::arg("copy") = true)
                                               .release());
  }
  Shape shape(arr.shape(), arr.shape() + arr.ndim());
  const std::size_t nbytes = static_cast<std::size_t>(arr.size()) * itemsize(target);
  if (exact)
    if (std::shared_ptr<Storage> storage = own_storage(arr, nbytes))
      return Tensor(std::move(storage), std::move(shape), target);
  void* data = arr.mutable_data();
  if (!exact) {
    // Our own fresh copy: nobody else can write it.
    std::shared_ptr<void> owner = keep_alive(std::move(arr));
    return Tensor(std::make_shared<Storage>(data, nbytes, std::move(owner)), std::move(shape), target);
  }
  return Tensor(borrowed_storage(arr, data, nbytes), std::move(shape), target);
}

py::array tensor_to_numpy(const Tensor& t) {
  auto* holder = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(holder, kStorageCapsule, [](PyObject* capsule) {
    delete static_cast<std::shared_ptr<Storage>*>(PyCapsule_GetPointer(capsule, kStorageCapsule));
  });
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  const py::ssize_t size = static_cast<py::ssize_t>(itemsize(t.dtype()));
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = size;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= std::max<py::ssize_t>(shape[i], 1);
  }
  py::dtype dt = t.dtype() == DType::Float32 ? py::dtype::of<float>() : py::dtype::of<double>();
  return py::array(dt, shape, strides, t.data(), base);
}

bool holds_variables(py::handle obj, int depth) {
  if (depth > 64 || !(PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr()))) return false;
  for (py::handle item : obj)
    if (py::isinstance<Variable>(item) || is_batched(item) || holds_variables(item, depth + 1)) return true;
  return false;
}

namespace {
/// A list or tuple holding Variables, stacked along a new first axis (recursively
/// for nested sequences): differentiable, like jnp.asarray of traced values. The
/// other entries take the Variables' (promoted) dtype.
Variable stack_sequence(py::handle seq, const char* op) {
  std::vector<py::handle> items(seq.begin(), seq.end());
  std::vector<Variable> parts(items.size());
  std::optional<DType> dtype;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (py::isinstance<Variable>(items[i])) parts[i] = items[i].cast<const Variable&>();
    else if (holds_variables(items[i])) parts[i] = stack_sequence(items[i], op);
    else continue;
    dtype = dtype ? promote(*dtype, parts[i].dtype()) : parts[i].dtype();
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!parts[i].defined()) parts[i] = Variable(tensor_from_python(items[i], dtype, op));
    else if (parts[i].dtype() != *dtype) parts[i] = astype(parts[i], *dtype);
    if (parts[i].shape() != parts[0].shape())
      throw std::invalid_argument(std::string(op) + ": a sequence of Variables must hold entries of one shape "
                                  "(it is stacked); got " + shape_str(parts[0].shape()) + " and " +
                                  shape_str(parts[i].shape()));
  }
  return stack(parts, 0);
}
}  // namespace

Variable to_variable(py::handle obj, const char* op) {
  if (py::isinstance<Variable>(obj)) return obj.cast<const Variable&>();
  if (holds_variables(obj)) return stack_sequence(obj, op);
  return Variable(tensor_from_python(obj, std::nullopt, op));
}

// Note [Weak scalar constants]
// A Python number meets a Variable in most lines of user code (`x * 2.0`, `y + 1`,
// `0.5 * z`), and each time it became a fresh 0-d constant: a Storage and a
// Variable allocated, kept by the graph, and freed with it (the 100,000-op chain
// y = y * 1.0 spent a sixth of its malloc calls on them). Such a constant never
// requires grad, is never handed back to the user (no rule returns an input; a
// gradient that aliases one is copied by with_own_buffer) and is never written in
// place (in-place ops write their first operand, a Variable). So the constants a
// thread made last are kept and handed out again: a small direct-mapped table per
// thread, keyed by the value's bits and the dtype. A table entry would look like a
// live buffer to the leak checks: _testing.live_buffers() empties the calling
// thread's table first (clear_constant_cache).
namespace {
struct ConstantCache {
  static constexpr std::size_t kSlots = 16;
  struct Slot {
    std::uint64_t bits = 0;
    DType dtype = DType::Float64;
    Variable constant;
  };
  Slot slots[kSlots];

  Variable get(double value, DType dtype) {
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    const std::uint64_t mixed = (bits ^ (bits >> 29) ^ static_cast<std::uint64_t>(dtype)) * 0x9e3779b97f4a7c15ull;
    Slot& slot = slots[mixed >> 60];
    if (!slot.constant.defined() || slot.bits != bits || slot.dtype != dtype) {
      slot.constant = Variable(Tensor::scalar(value, dtype));
      slot.bits = bits;
      slot.dtype = dtype;
    }
    return slot.constant;
  }
};
thread_local ConstantCache constant_cache;

/// A weak Python scalar as a 0-d tensor of `dtype` (Note [Weak scalar constants]).
/// An int beyond float64's range is NumPy's OverflowError, naming the op.
Variable weak_scalar(py::handle obj, DType dtype, const char* op) {
  const double value = PyFloat_AsDouble(obj.ptr());
  if (value == -1.0 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
    PyErr_Clear();
    PyErr_SetString(PyExc_OverflowError,
                    (std::string(op) + ": Python int too large to convert to float").c_str());
    throw py::error_already_set();
  }
  return constant_cache.get(value, dtype);
}
}  // namespace

void clear_constant_cache() {
  for (auto& slot : constant_cache.slots) slot.constant = Variable();
}

namespace {

/// Whether `obj` is a NumPy array or scalar of bools or integers of at most 16
/// bits: NumPy 2 promotes those with float32 to float32 (wider ones to float64).
bool small_integer_array(py::handle obj) {
  if (!py::isinstance<py::array>(obj) && !PyObject_HasAttrString(obj.ptr(), "dtype")) return false;
  if (!py::isinstance<py::array>(obj) && !py::isinstance(obj, numpy().attr("generic"))) return false;
  py::dtype dt = py::reinterpret_borrow<py::object>(obj).attr("dtype");
  const char kind = dt.kind();
  return (kind == 'b' || kind == 'i' || kind == 'u') && dt.itemsize() <= 2;
}

/// `obj` as the operand of a binary op whose other operand has dtype `other`.
Variable operand_against(py::handle obj, DType other, const char* op) {
  if (other == DType::Float32 && small_integer_array(obj))
    return Variable(tensor_from_python(obj, DType::Float32, op));
  return to_variable(obj, op);
}
}  // namespace

std::pair<Variable, Variable> to_variable_pair(py::handle x, py::handle y, const char* op) {
  const bool x_var = py::isinstance<Variable>(x), y_var = py::isinstance<Variable>(y);
  if (x_var && y_var) return {x.cast<const Variable&>(), y.cast<const Variable&>()};
  if (x_var) {
    const Variable& v = x.cast<const Variable&>();
    return {v, is_weak_scalar(y) ? weak_scalar(y, v.dtype(), op) : operand_against(y, v.dtype(), op)};
  }
  if (y_var) {
    const Variable& v = y.cast<const Variable&>();
    return {is_weak_scalar(x) ? weak_scalar(x, v.dtype(), op) : operand_against(x, v.dtype(), op), v};
  }
  // Neither is a Variable: a weak scalar follows the array; small integers follow
  // a float32 array.
  if (is_weak_scalar(x) && !is_weak_scalar(y)) {
    Variable b = to_variable(y, op);
    return {weak_scalar(x, b.dtype(), op), b};
  }
  if (is_weak_scalar(y) && !is_weak_scalar(x)) {
    Variable a = to_variable(x, op);
    return {a, weak_scalar(y, a.dtype(), op)};
  }
  if (small_integer_array(x) && !small_integer_array(y)) {
    Variable b = to_variable(y, op);
    return {operand_against(x, b.dtype(), op), b};
  }
  Variable a = to_variable(x, op);
  return {a, operand_against(y, a.dtype(), op)};
}

std::int64_t parse_integer(py::handle obj, const char* op, const char* what) {
  if (PyBool_Check(obj.ptr()) || !PyIndex_Check(obj.ptr()))
    throw TypeError(std::string(op) + ": " + what + " must be an integer, got " +
                    py::str(py::type::of(obj)).cast<std::string>());
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow) {
    const std::string message = std::string(op) + ": " + what + " " + py::str(index).cast<std::string>() +
                                " does not fit in 64 bits";
    if (std::string(what) == "axis") throw AxisError(message + " (out of bounds for any array)");
    throw std::invalid_argument(message);
  }
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  return value;
}

Axes parse_axes(py::handle axis, const char* op) {
  if (axis.is_none()) return std::nullopt;
  if (py::isinstance<py::tuple>(axis) || py::isinstance<py::list>(axis)) {
    Dims axes;
    for (py::handle a : axis) axes.push_back(parse_integer(a, op, "axis"));
    return axes;
  }
  return Dims{parse_integer(axis, op, "axis")};
}

std::int64_t parse_axis(py::handle axis, const char* op) { return parse_integer(axis, op, "axis"); }

Shape parse_shape(py::handle shape, const char* op) {
  if (py::isinstance<py::tuple>(shape) || py::isinstance<py::list>(shape)) {
    Shape s;
    for (py::handle d : shape) s.push_back(parse_integer(d, op, "shape entries"));
    return s;
  }
  return Shape{parse_integer(shape, op, "shape")};
}

std::vector<Variable> to_variables(py::handle seq, const char* op) {
  std::vector<Variable> out;
  for (py::handle item : seq) out.push_back(item.is_none() ? Variable() : to_variable(item, op));
  return out;
}


py::object grad_or_none(const Variable& g) { return g.defined() ? py::cast(g) : py::none(); }


std::shared_ptr<py::object> hold(py::object fn) {
  return std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* p) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    delete p;
  });
}

}  // namespace eigengrad::python
