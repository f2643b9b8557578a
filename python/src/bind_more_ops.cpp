// Bindings of cumsum, cumprod, prod, var, std, flip, roll, tril, triu, diagonal,
// diag, trace, pad, tensordot, take_along_axis, scatter_add, sort, argsort, argmax
// and argmin.
// Conversion only: the C++ ops validate and compute. Integer results (IndexArray)
// become NumPy int64 arrays; axis=None means "of the flattened array" where NumPy
// says so.
#include <cstring>
#include <limits>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bind_more_ops.h"
#include "batchable.h"
#include "convert.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

namespace {

/// Integer indices given as any array-like of integers (a float, bool or Variable
/// argument is a TypeError naming `op`; an empty list is fine).
IndexArray index_array(py::handle indices, const char* op) {
  reject_batched(indices, op);
  if (py::isinstance<Variable>(indices))
    throw TypeError(std::string(op) + ": indices must be integers, got a Variable (float" +
                    (indices.cast<const Variable&>().dtype() == DType::Float32 ? "32" : "64") +
                    "); pass a NumPy integer array (as argsort returns)");
  py::array arr = py::module_::import("numpy").attr("asarray")(indices);
  const char kind = arr.dtype().kind();
  if (kind != 'i' && kind != 'u' && !(arr.size() == 0 && (kind == 'f' || kind == 'b')))
    throw TypeError(std::string(op) + ": indices must be integers, got dtype " +
                    py::str(arr.dtype()).cast<std::string>());
  if (kind == 'u' && arr.size() != 0 &&
      arr.attr("max")().cast<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw py::index_error(std::string(op) + ": index " + py::str(arr.attr("max")()).cast<std::string>() +
                          " is out of bounds");
  py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> idx(arr);
  IndexArray out;
  out.shape.assign(idx.shape(), idx.shape() + idx.ndim());
  out.values.assign(idx.data(), idx.data() + idx.size());
  return out;
}

/// An IndexArray as a NumPy int64 array (a NumPy scalar when 0-d, as numpy.argmax).
py::object to_numpy(const IndexArray& a) {
  py::array_t<std::int64_t> out(std::vector<py::ssize_t>(a.shape.begin(), a.shape.end()));
  if (!a.values.empty()) std::memcpy(out.mutable_data(), a.values.data(), a.values.size() * sizeof(std::int64_t));
  if (a.shape.empty()) return out.attr("__getitem__")(py::tuple());
  return std::move(out);
}

/// The optional `axis` of argmax/argmin: None or one integer.
std::optional<std::int64_t> optional_axis(py::handle axis, const char* op) {
  if (axis.is_none()) return std::nullopt;
  return parse_axis(axis, op);
}

/// A scan along `axis` (None: of the flattened x).
template <class Fn>
Variable along(const Variable& x, py::handle axis, const char* op, Fn fn) {
  if (axis.is_none()) return fn(reshape(x, {-1}), 0);
  return fn(x, parse_axis(axis, op));
}

double parse_ddof(py::handle ddof, const char* op) {
  py::array arr = py::module_::import("numpy").attr("asarray")(ddof);
  const char kind = arr.dtype().kind();
  if (arr.ndim() != 0 || (kind != 'i' && kind != 'u' && kind != 'f'))
    throw TypeError(std::string(op) + ": ddof must be a real number, got " + py::repr(ddof).cast<std::string>());
  return arr.attr("item")().cast<double>();
}

Dims parse_shifts(py::handle shift) {
  if (py::isinstance<py::tuple>(shift) || py::isinstance<py::list>(shift)) {
    Dims out;
    for (py::handle s : shift) out.push_back(parse_integer(s, "roll", "shift"));
    return out;
  }
  return {parse_integer(shift, "roll", "shift")};
}

/// numpy.pad's pad_width: an int, (before, after), or one such pair per axis.
std::vector<std::pair<std::int64_t, std::int64_t>> parse_pad_width(py::handle width, std::int64_t ndim) {
  py::module_ np = py::module_::import("numpy");
  py::array arr = np.attr("asarray")(width);
  const char kind = arr.dtype().kind();
  if ((kind != 'i' && kind != 'u') || arr.ndim() > 2)
    throw TypeError("pad: pad_width must be an integer, a (before, after) pair or one pair per axis, got " +
                    py::repr(width).cast<std::string>());
  py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> pairs;
  try {
    pairs = np.attr("broadcast_to")(arr.attr("astype")("int64"), py::make_tuple(ndim, 2));
  } catch (const py::error_already_set&) {
    throw std::invalid_argument("pad: pad_width of shape " +
                                shape_str(Shape(arr.shape(), arr.shape() + arr.ndim())) +
                                " does not give a (before, after) pair for each of " + std::to_string(ndim) + " axes");
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (std::int64_t d = 0; d < ndim; ++d) out.emplace_back(pairs.at(d, 0), pairs.at(d, 1));
  return out;
}

/// numpy.tensordot's axes: N (the last N of x with the first N of y) or two sequences.
std::pair<Dims, Dims> parse_tensordot_axes(py::handle axes, const Variable& x) {
  if (py::isinstance<py::tuple>(axes) || py::isinstance<py::list>(axes)) {
    if (py::len(axes) != 2) throw TypeError("tensordot: axes must be an integer or a pair of axis sequences");
    py::object ax = axes.attr("__getitem__")(0), ay = axes.attr("__getitem__")(1);
    auto seq = [](py::handle a) {
      Axes parsed = parse_axes(a, "tensordot");
      return parsed ? *parsed : Dims{};
    };
    return {seq(ax), seq(ay)};
  }
  const std::int64_t n = parse_integer(axes, "tensordot", "axes");
  if (n < 0 || n > x.ndim())
    throw std::invalid_argument("tensordot: axes=" + std::to_string(n) + " for x of shape " + shape_str(x.shape()));
  Dims ax, ay;
  for (std::int64_t i = 0; i < n; ++i) {
    ax.push_back(x.ndim() - n + i);
    ay.push_back(i);
  }
  return {ax, ay};
}

}  // namespace

void bind_more_ops(py::module_& m, py::class_<Variable>& cls) {
  // ---- scans and reductions --------------------------------------------------------
  auto cumsum_fn = [](const Variable& x, py::handle axis) {
    return along(x, axis, "cumsum", [](const Variable& v, std::int64_t a) { return cumsum(v, a); });
  };
  auto cumprod_fn = [](const Variable& x, py::handle axis) {
    return along(x, axis, "cumprod", [](const Variable& v, std::int64_t a) { return cumprod(v, a); });
  };
  m.def("cumsum", batchable("cumsum", [cumsum_fn](py::handle x, py::handle axis) { return cumsum_fn(to_variable(x, "cumsum"), axis); }),
        py::arg("x"), py::arg("axis") = py::none(),
        "numpy.cumsum along axis (None: of the flattened x), added in order.");
  cls.def("cumsum", cumsum_fn, py::arg("axis") = py::none(), "eigengrad.cumsum of this Variable.");
  m.def("cumprod", batchable("cumprod", [cumprod_fn](py::handle x, py::handle axis) {
    return cumprod_fn(to_variable(x, "cumprod"), axis);
  }), py::arg("x"), py::arg("axis") = py::none(),
  "numpy.cumprod along axis (None: of the flattened x); the gradient is exact at zeros.");
  cls.def("cumprod", cumprod_fn, py::arg("axis") = py::none(), "eigengrad.cumprod of this Variable.");
  auto prod_fn = [](const Variable& x, py::handle axis, bool keepdims) {
    return prod(x, parse_axes(axis, "prod"), keepdims);
  };
  m.def("prod", batchable("prod", [prod_fn](py::handle x, py::handle axis, bool keepdims) {
    return prod_fn(to_variable(x, "prod"), axis, keepdims);
  }), py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
  "numpy.prod over axis (None: all, int or tuple); 1 over an empty slice; the gradient is exact at zeros.");
  cls.def("prod", prod_fn, py::arg("axis") = py::none(), py::arg("keepdims") = false,
          "eigengrad.prod of this Variable.");
  using MomentFn = Variable (*)(const Variable&, const Axes&, double, bool);
  auto def_moment = [&](const char* name, MomentFn fn, const char* doc) {
    m.def(name, batchable(name, [fn, name](py::handle x, py::handle axis, py::handle ddof, bool keepdims) {
      return fn(to_variable(x, name), parse_axes(axis, name), parse_ddof(ddof, name), keepdims);
    }), py::arg("x"), py::arg("axis") = py::none(), py::arg("ddof") = 0, py::arg("keepdims") = false, doc);
    cls.def(name, [fn, name](const Variable& x, py::handle axis, py::handle ddof, bool keepdims) {
      return fn(x, parse_axes(axis, name), parse_ddof(ddof, name), keepdims);
    }, py::arg("axis") = py::none(), py::arg("ddof") = 0, py::arg("keepdims") = false, doc);
  };
  def_moment("var", var, "numpy.var: mean squared deviation over axis, divisor n - ddof.");
  def_moment("std", eigengrad::std, "numpy.std = sqrt(var); over a constant slice the gradient is 0.");

  // ---- rearrangements ----------------------------------------------------------------
  m.def("flip", batchable("flip", [](py::handle x, py::handle axis) { return flip(to_variable(x, "flip"), parse_axes(axis, "flip")); }),
        py::arg("x"), py::arg("axis") = py::none(), "numpy.flip: the order reversed along axis (None: all).");
  m.def("roll", batchable("roll", [](py::handle x, py::handle shift, py::handle axis) {
    return roll(to_variable(x, "roll"), parse_shifts(shift), parse_axes(axis, "roll"));
  }), py::arg("x"), py::arg("shift"), py::arg("axis") = py::none(),
  "numpy.roll: elements shifted along axis, wrapping around (None: of the flattened x, shape kept).");
  m.def("tril", batchable("tril", [](py::handle x, py::handle k) { return tril(to_variable(x, "tril"), parse_integer(k, "tril", "k")); }),
        py::arg("x"), py::arg("k") = 0, "numpy.tril: zeros above the k-th diagonal of the last two axes.");
  m.def("triu", batchable("triu", [](py::handle x, py::handle k) { return triu(to_variable(x, "triu"), parse_integer(k, "triu", "k")); }),
        py::arg("x"), py::arg("k") = 0, "numpy.triu: zeros below the k-th diagonal of the last two axes.");
  auto diagonal_fn = [](const Variable& x, py::handle offset, py::handle axis1, py::handle axis2) {
    return diagonal(x, parse_integer(offset, "diagonal", "offset"), parse_axis(axis1, "diagonal"),
                    parse_axis(axis2, "diagonal"));
  };
  m.def("diagonal", batchable("diagonal", [diagonal_fn](py::handle x, py::handle offset, py::handle axis1, py::handle axis2) {
    return diagonal_fn(to_variable(x, "diagonal"), offset, axis1, axis2);
  }), py::arg("x"), py::arg("offset") = 0, py::arg("axis1") = 0, py::arg("axis2") = 1,
  "numpy.diagonal: the offset-th diagonal of axes (axis1, axis2), as the last axis.");
  cls.def("diagonal", diagonal_fn, py::arg("offset") = 0, py::arg("axis1") = 0, py::arg("axis2") = 1,
          "eigengrad.diagonal of this Variable.");
  m.def("diag", batchable("diag", [](py::handle x, py::handle k) { return diag(to_variable(x, "diag"), parse_integer(k, "diag", "k")); }),
        py::arg("x"), py::arg("k") = 0,
        "numpy.diag: 1-d x -> the matrix with x on the k-th diagonal; 2-d x -> its k-th diagonal.");
  auto trace_fn = [](const Variable& x, py::handle offset, py::handle axis1, py::handle axis2) {
    return trace(x, parse_integer(offset, "trace", "offset"), parse_axis(axis1, "trace"), parse_axis(axis2, "trace"));
  };
  m.def("trace", batchable("trace", [trace_fn](py::handle x, py::handle offset, py::handle axis1, py::handle axis2) {
    return trace_fn(to_variable(x, "trace"), offset, axis1, axis2);
  }), py::arg("x"), py::arg("offset") = 0, py::arg("axis1") = 0, py::arg("axis2") = 1,
  "numpy.trace: the sum along the offset-th diagonal of axes (axis1, axis2).");
  cls.def("trace", trace_fn, py::arg("offset") = 0, py::arg("axis1") = 0, py::arg("axis2") = 1,
          "eigengrad.trace of this Variable.");

  m.def("pad", batchable("pad", [](py::handle x, py::handle pad_width, py::handle mode, py::handle constant_values) {
    Variable v = to_variable(x, "pad");
    if (!py::isinstance<py::str>(mode) || mode.cast<std::string>() != "constant")
      throw std::invalid_argument("pad: only mode='constant' is supported, got " + py::repr(mode).cast<std::string>());
    py::array c = py::module_::import("numpy").attr("asarray")(constant_values);
    const char kind = c.dtype().kind();
    if (c.ndim() != 0 || (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b'))
      throw TypeError("pad: constant_values must be a real scalar, got " + py::repr(constant_values).cast<std::string>());
    return pad(v, parse_pad_width(pad_width, v.ndim()), c.attr("item")().cast<double>());
  }), py::arg("x"), py::arg("pad_width"), py::arg("mode") = "constant", py::arg("constant_values") = 0,
  "numpy.pad(mode='constant'): constant_values around each axis; the gradient is gout's middle.");
  m.def("tensordot", batchable("tensordot", [](py::handle x, py::handle y, py::handle axes) {
    auto [a, b] = to_variable_pair(x, y, "tensordot");
    auto [ax, ay] = parse_tensordot_axes(axes, a);
    return tensordot(a, b, ax, ay);
  }), py::arg("x"), py::arg("y"), py::arg("axes") = 2,
  "numpy.tensordot: sum over paired axes (N: the last N of x with the first N of y).");

  // ---- indexing and ordering ---------------------------------------------------------
  m.def("take_along_axis", batchable("take_along_axis", [](py::handle x, py::handle indices, py::handle axis) {
    Variable v = to_variable(x, "take_along_axis");
    IndexArray idx = index_array(indices, "take_along_axis");
    if (!axis.is_none()) return take_along_axis(v, idx, parse_axis(axis, "take_along_axis"));
    if (idx.shape.size() != 1)
      throw std::invalid_argument("take_along_axis: with axis=None, indices must be 1-d, got shape " +
                                  shape_str(idx.shape));
    return take_along_axis(reshape(v, {-1}), idx, 0);
  }), py::arg("x"), py::arg("indices"), py::arg("axis") = -1,
  "numpy.take_along_axis: x[..., indices[..., j, ...], ...] along axis (None: of the flattened x).");
  m.def("scatter_add", batchable("scatter_add", [](py::handle x, py::handle indices, py::handle values, py::handle axis) {
    auto [v, w] = to_variable_pair(x, values, "scatter_add");
    return scatter_add(v, index_array(indices, "scatter_add"), w, parse_axis(axis, "scatter_add"));
  }), py::arg("x"), py::arg("indices"), py::arg("values"), py::arg("axis") = -1,
  "x with values added at the positions take_along_axis(x, indices, axis) reads (repeats add up).");
  m.def("sort", batchable("sort", [](py::handle x, py::handle axis) {
    return along(to_variable(x, "sort"), axis, "sort", [](const Variable& v, std::int64_t a) { return sort(v, a); });
  }), py::arg("x"), py::arg("axis") = -1,
  "numpy.sort (stable, NaN last) along axis (None: of the flattened x); differentiable.");
  auto argsort_fn = [](const Variable& x, py::handle axis) {
    if (axis.is_none()) return to_numpy(argsort(reshape(x, {-1}), 0));
    return to_numpy(argsort(x, parse_axis(axis, "argsort")));
  };
  m.def("argsort", batchable("argsort", [argsort_fn](py::handle x, py::handle axis) { return argsort_fn(to_variable(x, "argsort"), axis); }),
        py::arg("x"), py::arg("axis") = -1,
        "numpy.argsort(kind='stable'): int64 positions, ties in order, NaN last; not differentiable.");
  cls.def("argsort", argsort_fn, py::arg("axis") = -1, "eigengrad.argsort of this Variable (int64 NumPy array).");
  auto argmax_fn = [](const Variable& x, py::handle axis, bool keepdims) {
    return to_numpy(argmax(x, optional_axis(axis, "argmax"), keepdims));
  };
  auto argmin_fn = [](const Variable& x, py::handle axis, bool keepdims) {
    return to_numpy(argmin(x, optional_axis(axis, "argmin"), keepdims));
  };
  m.def("argmax", batchable("argmax", [argmax_fn](py::handle x, py::handle axis, bool keepdims) {
    return argmax_fn(to_variable(x, "argmax"), axis, keepdims);
  }), py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
  "numpy.argmax: int64 position of the first maximum (or first NaN); not differentiable.");
  cls.def("argmax", argmax_fn, py::arg("axis") = py::none(), py::arg("keepdims") = false,
          "eigengrad.argmax of this Variable (int64 NumPy array).");
  m.def("argmin", batchable("argmin", [argmin_fn](py::handle x, py::handle axis, bool keepdims) {
    return argmin_fn(to_variable(x, "argmin"), axis, keepdims);
  }), py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
  "numpy.argmin: int64 position of the first minimum (or first NaN); not differentiable.");
  cls.def("argmin", argmin_fn, py::arg("axis") = py::none(), py::arg("keepdims") = false,
          "eigengrad.argmin of this Variable (int64 NumPy array).");
}
