#include "convert.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

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

/// The capsule name of the NumPy arrays that view eigengrad buffers.
constexpr const char* kStorageCapsule = "eigengrad.storage";

/// Keeps a NumPy array alive for as long as a Storage borrows its memory, and makes
/// it read-only while a backward rule keeps its values (see Lender in tensor.h and
/// Note [Saved values] in variable.cpp). The last reference may be dropped without
/// the GIL (during backward), so the destructor takes it. Holds are taken and
/// released without the GIL (a backward on another thread would otherwise wait for
/// it): the counts live under a C++ mutex, and the array's WRITEABLE flag is flipped
/// with an atomic bit operation on NumPy's flags field, which is what NumPy's own
/// setter does for read-only.
class ArrayLender final : public Lender {
 public:
  explicit ArrayLender(py::object array) : array_(array.release().ptr()) {}
  ~ArrayLender() override {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(array_);
  }
  ArrayLender(const ArrayLender&) = delete;
  ArrayLender& operator=(const ArrayLender&) = delete;

  void hold() noexcept override { change(+1); }
  void release() noexcept override { change(-1); }

 private:
  struct Holds {
    PyObject* array;
    long count;
    bool cleared;  // whether the flag was set when the first hold cleared it
  };

  void change(long delta) noexcept {
    // Several storages may borrow one array: holds are counted per array object,
    // in a short list (few arrays are held at once; no allocation once it has grown).
    static auto* mutex = new std::mutex();  // leaked, like the list: used until exit
    static auto* holds = new std::vector<Holds>();
    constexpr int kWriteable = py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    int* flags = &py::detail::array_proxy(array_)->flags;
    std::lock_guard<std::mutex> lock(*mutex);
    auto it = std::find_if(holds->begin(), holds->end(), [this](const Holds& h) { return h.array == array_; });
    if (it == holds->end()) {
      if (delta < 0) return;
      const bool cleared = __atomic_fetch_and(flags, ~kWriteable, __ATOMIC_RELAXED) & kWriteable;
      holds->push_back(Holds{array_, delta, cleared});
      return;
    }
    it->count += delta;
    if (it->count > 0) return;
    if (it->cleared) __atomic_fetch_or(flags, kWriteable, __ATOMIC_RELAXED);
    *it = holds->back();
    holds->pop_back();
  }

  PyObject* array_;
};

/// Keeps a private NumPy array alive for as long as a Storage borrows its memory;
/// the last reference may be dropped without the GIL, so take it first.
std::shared_ptr<void> keep_alive(py::object array) {
  PyObject* ptr = array.release().ptr();
  return std::shared_ptr<void>(ptr, [](void* p) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    Py_DECREF(static_cast<PyObject*>(p));
  });
}

/// The Storage behind `arr` when `arr` is a NumPy view that eigengrad made of one of
/// its own buffers (v.numpy(), np.asarray(v)) starting at the buffer's first byte:
/// then a Variable made from it shares the buffer and its version counter.
std::shared_ptr<Storage> own_storage(const py::array& arr, std::size_t nbytes) {
  PyObject* base = py::detail::array_proxy(arr.ptr())->base;
  if (!base || !PyCapsule_IsValid(base, kStorageCapsule)) return nullptr;
  auto* storage = static_cast<std::shared_ptr<Storage>*>(PyCapsule_GetPointer(base, kStorageCapsule));
  if (!storage || !*storage || (*storage)->data() != arr.data() || (*storage)->nbytes() < nbytes) return nullptr;
  return *storage;
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
  auto lender = std::make_shared<ArrayLender>(std::move(arr));
  Lender* raw = lender.get();
  return Tensor(std::make_shared<Storage>(data, nbytes, std::move(lender), raw), std::move(shape), target);
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

Variable to_variable(py::handle obj, const char* op) {
  if (py::isinstance<Variable>(obj)) return obj.cast<const Variable&>();
  return Variable(tensor_from_python(obj, std::nullopt, op));
}

std::pair<Variable, Variable> to_variable_pair(py::handle x, py::handle y, const char* op) {
  const bool x_var = py::isinstance<Variable>(x), y_var = py::isinstance<Variable>(y);
  if (x_var && y_var) return {x.cast<const Variable&>(), y.cast<const Variable&>()};
  if (x_var && is_weak_scalar(y)) {
    const Variable& v = x.cast<const Variable&>();
    return {v, Variable(Tensor::scalar(y.cast<double>(), v.dtype()))};
  }
  if (y_var && is_weak_scalar(x)) {
    const Variable& v = y.cast<const Variable&>();
    return {Variable(Tensor::scalar(x.cast<double>(), v.dtype())), v};
  }
  Variable a = x_var ? x.cast<const Variable&>() : Variable();
  Variable b = y_var ? y.cast<const Variable&>() : Variable();
  if (!a.defined() && !b.defined()) {  // neither is a Variable: a weak scalar follows the array
    if (is_weak_scalar(x) && !is_weak_scalar(y)) {
      b = to_variable(y, op);
      a = Variable(Tensor::scalar(x.cast<double>(), b.dtype()));
    } else if (is_weak_scalar(y) && !is_weak_scalar(x)) {
      a = to_variable(x, op);
      b = Variable(Tensor::scalar(y.cast<double>(), a.dtype()));
    }
  }
  if (!a.defined()) a = to_variable(x, op);
  if (!b.defined()) b = to_variable(y, op);
  return {a, b};
}

namespace {
std::int64_t parse_int(py::handle obj, const char* op, const char* what) {
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
}  // namespace

Axes parse_axes(py::handle axis, const char* op) {
  if (axis.is_none()) return std::nullopt;
  if (py::isinstance<py::tuple>(axis) || py::isinstance<py::list>(axis)) {
    std::vector<std::int64_t> axes;
    for (py::handle a : axis) axes.push_back(parse_int(a, op, "axis"));
    return axes;
  }
  return std::vector<std::int64_t>{parse_int(axis, op, "axis")};
}

std::int64_t parse_axis(py::handle axis, const char* op) { return parse_int(axis, op, "axis"); }

Shape parse_shape(py::handle shape, const char* op) {
  if (py::isinstance<py::tuple>(shape) || py::isinstance<py::list>(shape)) {
    Shape s;
    for (py::handle d : shape) s.push_back(parse_int(d, op, "shape entries"));
    return s;
  }
  return Shape{parse_int(shape, op, "shape")};
}

}  // namespace eigengrad::python
