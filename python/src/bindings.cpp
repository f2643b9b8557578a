// eigengrad._core: the pybind11 module. Binding code only: it converts arguments
// (convert.h) and forwards to the C++ API, which validates and computes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>


#include "bind_autograd.h"
#include "bind_config.h"
#include "bind_linalg.h"
#include "bind_monitor.h"
#include "bind_more_ops.h"
#include "bind_nn.h"
#include "bind_state.h"
#include "bind_testing.h"
#include "batchable.h"
#include "convert.h"
#include "eigengrad/memory.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

namespace {

using UnaryFn = Variable (*)(const Variable&);
using BinaryFn = Variable (*)(const Variable&, const Variable&);

/// Ops on at least this many elements run with the GIL released, so other Python
/// threads go on meanwhile (below it, releasing costs more than it gives).
constexpr std::int64_t kReleaseGilFrom = 1 << 15;

/// fn() for the op `name` (named in its MemoryError), with the GIL released when
/// the operands are large.
template <class Fn>
Variable call_op(const char* name, std::int64_t elements, Fn&& fn) {
  AllocationLabel label(name);
  if (elements < kReleaseGilFrom) return fn();
  py::gil_scoped_release release;
  return fn();
}

/// eg.name(x) and Variable.name().
void def_unary(py::module_& m, py::class_<Variable>& cls, const char* name, UnaryFn fn, const char* doc) {
  m.def(name, batchable(name, [fn, name](py::handle x) {
    Variable v = to_variable(x, name);
    return call_op(name, v.numel(), [&] { return fn(v); });
  }), py::arg("x"), doc);
  cls.def(name, [fn, name](const Variable& x) { return call_op(name, x.numel(), [&] { return fn(x); }); }, doc);
}

/// fn(x, y) on Variables, arrays or scalars on either side.
Variable call_binary(BinaryFn fn, const char* name, py::handle x, py::handle y) {
  auto [a, b] = to_variable_pair(x, y, name);
  return call_op(name, a.numel() + b.numel(), [&, &a = a, &b = b] { return fn(a, b); });
}

/// eg.name(x, y).
void def_binary(py::module_& m, const char* name, BinaryFn fn, const char* doc) {
  m.def(name, batchable(name, [fn, name](py::handle x, py::handle y) { return call_binary(fn, name, x, y); }),
        py::arg("x"), py::arg("y"), doc);
}

/// fn(x, y), or NotImplemented when an operand is a batched value of eg.vmap: Python
/// then asks the batched value's reflected operator (Note [vmap dispatch]).
Returns<Variable> call_operator(BinaryFn fn, const char* name, py::handle x, py::handle y) {
  try {
    return Returns<Variable>(py::cast(call_binary(fn, name, x, y)));
  } catch (const BatchedArgument&) {
    return Returns<Variable>(py::reinterpret_borrow<py::object>(Py_NotImplemented));
  }
}

/// Variable.__op__ and Variable.__rop__.
void def_operator(py::class_<Variable>& cls, const char* op, const char* rop, const char* name, BinaryFn fn) {
  cls.def(op, [fn, name](py::handle x, py::handle y) { return call_operator(fn, name, x, y); }, py::is_operator());
  cls.def(rop, [fn, name](py::handle x, py::handle y) { return call_operator(fn, name, y, x); }, py::is_operator());
}

std::vector<std::int64_t> to_indices(py::handle indices, Shape& shape) {
  reject_batched(indices, "take");
  py::array arr = py::module_::import("numpy").attr("asarray")(indices);
  const char kind = arr.dtype().kind();
  if (kind != 'i' && kind != 'u' && !(kind == 'b' && arr.size() == 0) && !(kind == 'f' && arr.size() == 0))
    throw TypeError("take: indices must be integers, got dtype " + py::str(arr.dtype()).cast<std::string>());
  py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> idx(arr);
  shape.assign(idx.shape(), idx.shape() + idx.ndim());
  return std::vector<std::int64_t>(idx.data(), idx.data() + idx.size());
}

Tensor condition_tensor(py::handle condition) {
  reject_batched(condition, "where");
  // A copy, as for arrays: where's rule keeps the condition, and an in-place update
  // of the Variable's buffer must not change the gradient (no version to check).
  if (py::isinstance<Variable>(condition)) return condition.cast<const Variable&>().data().clone();
  py::object as_bool = py::module_::import("numpy").attr("asarray")(condition, py::arg("dtype") = "bool");
  return tensor_from_python(as_bool, DType::Float64, "where");
}

std::optional<double> bound(py::handle b) {
  reject_batched(b, "clip");
  if (b.is_none()) return std::nullopt;
  py::array arr = py::module_::import("numpy").attr("asarray")(b);
  const char kind = arr.dtype().kind();
  if (arr.ndim() != 0 || (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b'))
    throw TypeError("clip: bounds must be real scalars or None");
  return arr.attr("item")().cast<double>();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "eigengrad's C++ engine (tensors, ops, reverse mode). Use the eigengrad package.";

  // ---- exceptions: one translator for the core's types (see errors.h) -------------
  // Leaked on purpose: the translator may run until the interpreter is gone.
  static PyObject* axis_error = [] {
    py::module_ np = py::module_::import("numpy");
    py::object cls = py::hasattr(np, "exceptions") ? np.attr("exceptions").attr("AxisError") : np.attr("AxisError");
    return cls.release().ptr();
  }();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const AxisError& e) {
      PyErr_SetString(axis_error, e.what());
    } catch (const LinAlgError& e) {
      PyErr_SetString(linalg_error_type(), e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const BatchedArgument& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const InternalError& e) {
      PyErr_SetString(PyExc_RuntimeError, (std::string("eigengrad internal error: ") + e.what()).c_str());
    }
  });

  // ---- Variable ------------------------------------------------------------------
  // Declared before Node, whose methods take and return Variables: a signature
  // names only the classes bound before it (the stubs read these signatures).
  py::class_<Variable> cls(m, "Variable", py::custom_type_setup(setup_variable_type), R"doc(
An n-d array of float32 or float64 that records the ops applied to it.

Variable(data, requires_grad=False, dtype=None): `data` is any array-like. A
C-contiguous float32/float64 NumPy array is shared, not copied; integer and bool data
become float64 (or `dtype`, which must be float32 or float64).)doc");

  // ---- graph nodes ---------------------------------------------------------------
  py::class_<Node, std::shared_ptr<Node>>(m, "Node", "A recorded op application (a Variable's grad_fn).")
      .def("name", [](const Node& n) { return std::string(n.name()); }, "The op's name.")
      .def_property_readonly("next_functions", [](const Node& n) {
        py::list out;
        for (const auto& next : n.next()) out.append(next ? py::cast(next) : py::none());
        return py::tuple(out);
      }, "The nodes receiving each input's cotangent (None where no gradient flows).")
      .def("_vjp", [](Node& n, const Variable& gout, std::vector<bool> needs) {
        if (!dynamic_cast<FunctionNode*>(&n))
          throw std::invalid_argument(std::string(n.name()) + ": not an op node; it has no backward rule to run");
        if (needs.size() != n.next().size())
          throw std::invalid_argument(std::string(n.name()) + ": needs has " + std::to_string(needs.size()) +
                                      " entries for " + std::to_string(n.next().size()) + " inputs");
        std::vector<Variable> grads;
        {
          py::gil_scoped_release release;
          NoGradGuard no_grad;
          grads = n.apply(gout, needs, /*retain=*/true);
        }
        py::list out;
        for (const Variable& g : grads) out.append(grad_or_none(g));
        return py::tuple(out);
      }, py::arg("gout"), py::arg("needs"),
      "This op's backward rule applied to `gout` (the output's shape, or leading batch dimensions\n"
      "first), one cotangent per input where `needs` (None elsewhere). Read-only: grad mode off,\n"
      "saved values kept, hooks not run, no leaf's .grad touched (eg.explain).")
      .def("__eq__", [](const Node& a, py::handle b) {
        return py::isinstance<Node>(b) && &a == &b.cast<const Node&>();
      })
      .def("__hash__", [](const Node& n) { return std::hash<const Node*>()(&n); })
      .def("__repr__", [](const Node& n) { return "<eigengrad.Node " + std::string(n.name()) + ">"; });

  cls.def(py::init([](py::handle data, bool requires_grad, py::handle dtype) {
          std::optional<DType> dt = parse_dtype(dtype, "Variable");
          if (py::isinstance<Variable>(data)) {
            const Variable& v = data.cast<const Variable&>();
            return Variable(dt ? v.data().to(*dt) : v.data(), requires_grad);
          }
          if (holds_variables(data)) {
            // A leaf of their values would cut the Variables from the graph.
            Variable stacked = to_variable(data, "Variable");
            if (stacked.requires_grad() || !stacked.impl()->tangents.empty())
              throw TypeError("Variable: data is a sequence of Variables that require grad; a new leaf would cut "
                              "them from the graph. Use eg.stack(seq) to stack them differentiably, or "
                              "eg.stack(seq).detach() for a leaf of their values");
            return Variable(dt ? stacked.data().to(*dt) : stacked.data(), requires_grad);
          }
          return Variable(tensor_from_python(data, dt, "Variable"), requires_grad);
        }),
        py::arg("data"), py::arg("requires_grad") = false, py::arg("dtype") = py::none())
      .def_property_readonly("shape", [](const Variable& v) {
        py::tuple t(v.shape().size());
        for (std::size_t i = 0; i < v.shape().size(); ++i) t[i] = v.shape()[i];
        return t;
      }, "The sizes of the axes, a tuple of ints (() for a scalar).")
      .def_property_readonly("ndim", &Variable::ndim, "The number of axes.")
      .def_property_readonly("size", &Variable::numel, "The number of elements.")
      .def_property_readonly("dtype", [](const Variable& v) {
        return v.dtype() == DType::Float32 ? py::dtype::of<float>() : py::dtype::of<double>();
      }, "numpy.float32 or numpy.float64, as a NumPy dtype.")
      .def_property("requires_grad", &Variable::requires_grad, &Variable::set_requires_grad,
                    "Whether ops on this Variable are recorded for reverse mode (settable on a leaf).")
      .def_property_readonly("is_leaf", &Variable::is_leaf,
                             "True unless the Variable was computed by a recorded op (then it has a grad_fn).")
      .def_property_readonly("grad_fn", [](const Variable& v) -> py::object {
        return v.grad_fn() ? py::cast(v.grad_fn()) : py::none();
      }, "The recorded op that computed this Variable (a Node), or None for a leaf.")
      .def_property_readonly("_gradient_edge", [](const Variable& v) -> py::object {
        std::shared_ptr<Node> node = v.gradient_edge();
        return node ? py::cast(node) : py::none();
      }, "The node this Variable's cotangent goes to: grad_fn, or a leaf's gradient accumulator (None when\n"
         "it does not require grad).")
      .def_property("grad", [](const Variable& v) { return grad_or_none(v.grad()); },
                    [](Variable& v, py::handle g) {
                      v.set_grad(g.is_none() ? Variable() : to_variable(g, "grad"));
                    },
                    "The gradient accumulated by backward (None before), shaped like the Variable.")
      .def("backward", [](const Variable& v, py::handle grad, std::optional<bool> retain_graph,
                          bool create_graph) {
        Variable g = grad.is_none() ? Variable() : to_variable(grad, "backward");
        py::gil_scoped_release release;
        v.backward(g, retain_graph, create_graph);
      }, py::arg("grad") = py::none(), py::arg("retain_graph") = py::none(), py::arg("create_graph") = false,
      "Accumulates d(self)/d(leaf), contracted with `grad` (default 1 for one element), into leaf.grad.\n"
      "retain_graph defaults to create_graph.")
      .def("detach", &Variable::detach, "A leaf sharing this value, cut from the graph.")
      .def("item", &Variable::item, "The only element as a Python float.")
      .def("numpy", [](const Variable& v) { return tensor_to_numpy(v.data()); },
           "A NumPy array viewing the same memory (no copy).")
      .def("__array__", [](const Variable& v, py::handle dtype, py::handle copy) -> py::object {
        py::array view = tensor_to_numpy(v.data());
        if (!dtype.is_none()) return view.attr("astype")(dtype);
        if (!copy.is_none() && copy.cast<bool>()) return view.attr("copy")();
        return std::move(view);
      }, py::arg("dtype") = py::none(), py::arg("copy") = py::none())
      .def("__len__", [](const Variable& v) {
        if (v.ndim() == 0) throw TypeError("len() of a 0-d Variable");
        return v.shape()[0];
      })
      .def("astype", [](const Variable& v, py::handle dtype) {
        return astype(v, *parse_dtype(dtype, "astype"));
      }, py::arg("dtype"), "A copy converted to dtype (float32 or float64); the gradient converts back.")
      .def_property_readonly("T", [](const Variable& v) { return transpose(v); }, "The axes reversed (numpy's .T).")
      .def("__neg__", [](const Variable& v) { return neg(v); })
      .def("__pos__", [](const Variable& v) { return v; });
  cls.attr("__array_ufunc__") = py::none();  // ndarray op Variable defers to Variable.__rop__
  cls.attr("__hash__") = py::module_::import("builtins").attr("object").attr("__hash__");

  def_operator(cls, "__add__", "__radd__", "add", add);
  def_operator(cls, "__sub__", "__rsub__", "sub", sub);
  def_operator(cls, "__mul__", "__rmul__", "mul", mul);
  def_operator(cls, "__truediv__", "__rtruediv__", "div", div);
  def_operator(cls, "__pow__", "__rpow__", "pow", pow);
  def_operator(cls, "__matmul__", "__rmatmul__", "matmul", matmul);

  // ---- element-wise ops ----------------------------------------------------------
  for (const OpEntry& op : op_table()) {  // the element-wise ops, bound from the op table
    if (op.unary) def_unary(m, cls, op.name, op.unary, op.doc);
    if (op.binary) def_binary(m, op.name, op.binary, op.doc);
  }
  m.def("where", batchable("where", [](py::handle condition, py::handle x, py::handle y) {
    Tensor c = condition_tensor(condition);
    auto [a, b] = to_variable_pair(x, y, "where");
    return where(c, a, b);
  }), py::arg("condition"), py::arg("x"), py::arg("y"),
  "x where condition is true (nonzero), else y; broadcasting; condition is not differentiated.");
  m.def("clip", batchable("clip", [](py::handle x, py::handle lo, py::handle hi) {
    return clip(to_variable(x, "clip"), bound(lo), bound(hi));
  }), py::arg("x"), py::arg("a_min") = py::none(), py::arg("a_max") = py::none(),
  "x limited to [a_min, a_max]; the gradient passes inside the bounds (inclusive).");
  cls.def("clip", [](const Variable& x, py::handle lo, py::handle hi) { return clip(x, bound(lo), bound(hi)); },
          py::arg("a_min") = py::none(), py::arg("a_max") = py::none(), "eigengrad.clip of this Variable.");
  m.def("astype", batchable("astype", [](py::handle x, py::handle dtype) {
    return astype(to_variable(x, "astype"), *parse_dtype(dtype, "astype"));
  }), py::arg("x"), py::arg("dtype"), "x converted to dtype (float32 or float64); the gradient converts back.");

  // ---- reductions ----------------------------------------------------------------
  using ReduceFn = Variable (*)(const Variable&, const Axes&, bool);
  auto def_reduce = [&](const char* name, ReduceFn fn, const char* doc) {
    m.def(name, batchable(name, [fn, name](py::handle x, py::handle axis, bool keepdims) {
      Variable v = to_variable(x, name);
      const Axes axes = parse_axes(axis, name);
      return call_op(name, 0, [&] { return fn(v, axes, keepdims); });
    }), py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false, doc);
    cls.def(name, [fn, name](const Variable& x, py::handle axis, bool keepdims) {
      const Axes axes = parse_axes(axis, name);
      return call_op(name, 0, [&] { return fn(x, axes, keepdims); });
    }, py::arg("axis") = py::none(), py::arg("keepdims") = false, doc);
  };
  def_reduce("sum", sum, "Sum over axis (None: all, int or tuple).");
  def_reduce("mean", mean, "Mean over axis (None: all, int or tuple).");
  def_reduce("max", max, "Maximum over axis; ties share the gradient evenly.");
  def_reduce("min", min, "Minimum over axis; ties share the gradient evenly.");
  def_reduce("logsumexp", logsumexp,
             "log(sum(exp(x))) over axis, stable; over all -inf: value -inf, gradient 0.");
  m.def("_norm2", batchable("norm", [](py::handle x, py::handle axis, bool keepdims) {
    return norm(to_variable(x, "norm"), parse_axes(axis, "norm"), keepdims);
  }), py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false,
  "The Euclidean norm over axis (eg.norm's ord=2); its gradient at 0 is 0.");
  m.def("sum_to", batchable("sum_to", [](py::handle x, py::handle shape) {
    return sum_to(to_variable(x, "sum_to"), parse_shape(shape, "sum_to"));
  }), py::arg("x"), py::arg("shape"), "Sums broadcast dimensions away so x has `shape`.");

  // ---- shape ---------------------------------------------------------------------
  m.def("reshape", batchable("reshape", [](py::handle x, py::handle shape) {
    return reshape(to_variable(x, "reshape"), parse_shape(shape, "reshape"));
  }), py::arg("x"), py::arg("shape"), "numpy.reshape: the same elements in row-major order, one -1 inferred.");
  cls.def("reshape", [](const Variable& x, py::args shape) {
    py::object s = shape.size() == 1 ? py::object(shape[0]) : py::object(shape);
    return reshape(x, parse_shape(s, "reshape"));
  }, "numpy.ndarray.reshape: the shape as a tuple or as separate ints, one -1 inferred.");
  m.def("transpose", batchable("transpose", [](py::handle x, py::handle axes) {
    return transpose(to_variable(x, "transpose"),
                     axes.is_none() ? Shape{} : parse_shape(axes, "transpose"));
  }), py::arg("x"), py::arg("axes") = py::none(), "numpy.transpose: axes permuted (None: reversed).");
  cls.def("transpose", [](const Variable& x, py::args axes) {
    if (axes.size() == 0 || (axes.size() == 1 && axes[0].is_none())) return transpose(x);
    py::object a = axes.size() == 1 ? py::object(axes[0]) : py::object(axes);
    return transpose(x, parse_shape(a, "transpose"));
  }, "numpy.ndarray.transpose: axes permuted, as a tuple or separate ints (none: reversed).");
  m.def("broadcast_to", batchable("broadcast_to", [](py::handle x, py::handle shape) {
    return broadcast_to(to_variable(x, "broadcast_to"), parse_shape(shape, "broadcast_to"));
  }), py::arg("x"), py::arg("shape"), "numpy.broadcast_to; the gradient sums the broadcast axes away.");
  m.def("_slice", batchable("slice", [](py::handle x, Dims starts, Dims stops, Dims steps) {
    return slice(to_variable(x, "slice"), starts, stops, steps);
  }), "x[start:stop:step] per axis, bounds normalised as slice.indices.");
  m.def("take", batchable("take", [](py::handle x, py::handle indices, py::handle axis) {
    Variable v = to_variable(x, "take");
    Shape shape;
    std::vector<std::int64_t> idx = to_indices(indices, shape);
    if (axis.is_none()) return take(reshape(v, {-1}), idx, shape, 0);
    return take(v, idx, shape, parse_shape(axis, "take")[0]);
  }), py::arg("x"), py::arg("indices"), py::arg("axis") = py::none(),
  "numpy.take: elements at integer `indices` along `axis` (None: of the flattened x).");
  m.def("concatenate", batchable("concatenate", [](py::handle xs, py::handle axis) {
    std::vector<Variable> vs = to_variables(xs, "concatenate");
    if (axis.is_none()) {
      for (Variable& v : vs) v = reshape(v, {-1});
      return concatenate(vs, 0);
    }
    return concatenate(vs, parse_shape(axis, "concatenate")[0]);
  }), py::arg("arrays"), py::arg("axis") = 0, "numpy.concatenate: joined along an existing axis (None: flattened first).");
  m.def("stack", batchable("stack", [](py::handle xs, py::handle axis) { return stack(to_variables(xs, "stack"), parse_axis(axis, "stack")); }),
        py::arg("arrays"), py::arg("axis") = 0, "numpy.stack: joined along a new axis.");

  // ---- neural-network functions ----------------------------------------------------
  m.def("softmax", batchable("softmax", [](py::handle x, py::handle axis) {
    return softmax(to_variable(x, "softmax"), parse_axis(axis, "softmax"));
  }),
        py::arg("x"), py::arg("axis") = -1, "exp(x - logsumexp(x, axis)), stable for large |x|.");
  m.def("log_softmax", batchable("log_softmax", [](py::handle x, py::handle axis) {
    return log_softmax(to_variable(x, "log_softmax"), parse_axis(axis, "log_softmax"));
  }), py::arg("x"), py::arg("axis") = -1, "x - logsumexp(x, axis), stable for large |x|.");

  m.def("set_num_threads", [](py::handle n) { set_num_threads(parse_integer(n, "set_num_threads", "n")); },
        py::arg("n"), "Threads for matrix products and large element-wise kernels (default: all cores); "
                      "1 <= n <= 4 per core (at least 64, at most 1024), else ValueError.");
  m.def("get_num_threads", &get_num_threads, "The thread count set by set_num_threads.");
  m.def("memory_stats", [] {
    const MemoryStats s = memory_stats();
    py::dict d;
    d["bytes_in_use"] = s.bytes_in_use;
    d["peak_bytes_in_use"] = s.peak_bytes_in_use;
    d["bytes_cached"] = s.bytes_cached;
    d["cached_blocks"] = s.cached_blocks;
    d["cache_limit"] = s.cache_limit;
    d["allocations"] = s.allocations;
    d["cache_hits"] = s.cache_hits;
    d["cache_misses"] = s.cache_misses;
    d["borrowed_buffers"] = s.borrowed_buffers;
    return d;
  }, R"doc(The buffer allocator's counters, a dict of ints:
bytes_in_use and peak_bytes_in_use (owned buffers, the sizes asked for), bytes_cached
and cached_blocks (freed blocks of 256 KiB and more kept for reuse), cache_limit,
allocations (buffers asked for), cache_hits and cache_misses (of requests of 256 KiB
and more) and borrowed_buffers (live buffers over NumPy memory, whose bytes are not
eigengrad's and are in no byte count).)doc");
  m.def("empty_cache", &empty_cache, "Returns every cached block to the system (buffers in use stay).");
  m.def("reset_peak_memory_stats", &reset_peak_memory_stats,
        "Sets peak_bytes_in_use of memory_stats() to the current bytes_in_use.");
  m.def("set_memory_cache_limit", [](py::handle n) {
    set_memory_cache_limit(parse_integer(n, "set_memory_cache_limit", "nbytes"));
  }, py::arg("nbytes"), "Bounds the bytes the allocator caches (0: no caching; default 256 MiB or "
                        "EIGENGRAD_ALLOC_CACHE); trims the cache to it. A negative bound is a ValueError.");
  m.def("get_memory_cache_limit", &memory_cache_limit, "The bound set by set_memory_cache_limit.");
  m.def("is_grad_enabled", &grad_enabled, "Whether ops record the graph on this thread.");
  m.def("set_grad_enabled", &set_grad_enabled, py::arg("enabled"));
  m.def("is_strong_zero_enabled", &strong_zero_enabled,
        "Whether derivative rules keep a zero cotangent or tangent zero (process-wide).");
  m.def("set_strong_zero", &set_strong_zero, py::arg("enabled"));
  m.def("op_names", &op_names, "Every public differentiable op of the C++ core.");
  m.def("_set_batched_type", &set_batched_type, py::arg("cls"), py::arg("dispatch"),
        "Sets the class of eg.vmap's batched values and the function applying their batching rules "
        "(Note [vmap dispatch]).");
  bind_more_ops(m, cls);  // issue 14: scans, rearrangements, indexing
  bind_autograd(m);
  bind_nn(m);
  bind_monitor(m);
  bind_config(m);
  bind_state(m, cls);
  bind_testing(m);
  bind_linalg(m);
}
