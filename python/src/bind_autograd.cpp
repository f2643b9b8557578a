// Bindings of reverse mode (backward, grad), forward mode (ForwardLevel, make_dual,
// tangent) and custom functions with Python rules. Conversion only: the C++ API
// validates and computes.
#include "bind_autograd.h"

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <set>
#include <string>

#include "convert.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

namespace {

/// A ForwardLevel whose lifetime Python controls (closed explicitly, innermost first).
class PyForwardLevel {
 public:
  PyForwardLevel() : level_(std::make_unique<ForwardLevel>()) {}
  void close() { level_.reset(); }
  const ForwardLevel& get() const {
    if (!level_) throw std::runtime_error("forward level: already closed");
    return *level_;
  }

 private:
  std::unique_ptr<ForwardLevel> level_;
};

/// Names must outlive every node (Node keeps a const char*): keep one copy each.
const char* intern(const std::string& name) {
  static std::set<std::string>* names = new std::set<std::string>();
  return names->insert(name).first->c_str();
}

/// The shape and dtype a rule's result must have.
struct Meta {
  Shape shape;
  DType dtype;
};

/// The Variables a Python rule returned: one per entry of `like` (None: no gradient),
/// each with the leading batch shape `lead` followed by its entry's shape and with
/// its entry's dtype. `what` names the rule and `whom` the entries ("input").
std::vector<Variable> rule_results(const char* name, const char* what, const char* whom, py::handle result,
                                   const std::vector<Meta>& like, const Shape& lead) {
  py::tuple items = py::isinstance<py::tuple>(result) ? py::reinterpret_borrow<py::tuple>(result)
                                                      : py::make_tuple(result);
  if (items.size() != like.size())
    throw std::invalid_argument(std::string(name) + ": " + what + " returned " + std::to_string(items.size()) +
                                " values for " + std::to_string(like.size()) + " " + whom + "s");
  std::vector<Variable> out;
  for (std::size_t i = 0; i < like.size(); ++i) {
    if (items[i].is_none()) {
      out.emplace_back();
      continue;
    }
    const std::string which = std::string(whom) + " " + std::to_string(i);
    Variable v = to_variable(items[i], name);
    Shape want = lead;
    want.insert(want.end(), like[i].shape.begin(), like[i].shape.end());
    if (v.shape() != want)
      throw std::invalid_argument(std::string(name) + ": " + what + " returned shape " + shape_str(v.shape()) +
                                  " for " + which + "; expected " + shape_str(want));
    if (v.dtype() != like[i].dtype)
      throw TypeError(std::string(name) + ": " + what + " returned dtype " + dtype_name(v.dtype()) + " for " +
                      which + ", which has dtype " + dtype_name(like[i].dtype) +
                      "; return it in that dtype (x.astype(...))");
    out.push_back(v);
  }
  return out;
}

}  // namespace

void bind_autograd(py::module_& m) {
  // ---- autograd ------------------------------------------------------------------
  m.def("_backward", [](py::handle outputs, py::handle grad_outputs, std::optional<bool> retain_graph,
                        bool create_graph) {
    std::vector<Variable> outs = to_variables(outputs, "backward");
    std::vector<Variable> grads = to_variables(grad_outputs, "backward");
    py::gil_scoped_release release;
    backward(outs, grads, retain_graph, create_graph);
  });
  m.def("_grad", [](py::handle outputs, py::handle inputs, py::handle grad_outputs, std::optional<bool> retain_graph,
                    bool create_graph, bool allow_unused, bool is_grads_batched, bool create_graph_if_outer) {
    std::vector<Variable> outs = to_variables(outputs, "grad");
    std::vector<Variable> ins;
    for (py::handle x : inputs) {
      if (!py::isinstance<Variable>(x))
        throw TypeError("grad: inputs must be Variables, got " + py::str(py::type::of(x)).cast<std::string>());
      ins.push_back(x.cast<const Variable&>());
    }
    std::vector<Variable> gos = to_variables(grad_outputs, "grad");
    std::vector<Variable> grads;
    {
      py::gil_scoped_release release;
      grads = grad(outs, ins, gos, retain_graph, create_graph, allow_unused, is_grads_batched, create_graph_if_outer);
    }
    py::list out;
    for (const Variable& g : grads) out.append(grad_or_none(g));
    return py::tuple(out);
  });
  // ---- forward mode ----------------------------------------------------------------
  py::class_<PyForwardLevel>(m, "ForwardLevel",
                             "A level of forward-mode tangents, open until close() (or the end of a with block).")
      .def(py::init<>())
      .def("close", &PyForwardLevel::close)
      .def("__enter__", [](PyForwardLevel& self) -> PyForwardLevel& { return self; })
      .def("__exit__", [](PyForwardLevel& self, py::args) { self.close(); });
  m.def("make_dual", [](py::handle primal, py::handle tangent, PyForwardLevel& level) {
    return make_dual(to_variable(primal, "make_dual"), to_variable(tangent, "make_dual"), level.get());
  }, py::arg("primal"), py::arg("tangent"), py::arg("level"),
  "primal carrying `tangent` at `level` (a new Variable; the tangent may have leading batch dimensions).");
  m.def("tangent", [](const Variable& x, PyForwardLevel& level) { return grad_or_none(tangent(x, level.get())); },
        py::arg("x"), py::arg("level"), "The tangent of x at `level`, or None (zero).");
  m.def("_grad_input", [](const Variable& x) { return grad_input(x); },
        "x as an input to differentiate: a leaf if x does not require grad, else a connected alias; "
        "tangents kept.");
  m.def("_record_custom", [](const std::string& name, const Variable& out, std::vector<Variable> inputs,
                             py::object backward, py::object jvp, bool save_out, const std::vector<Variable>& watched) {
    const char* op = intern(name);
    // Python rules run with the GIL held; the engine releases it around backward.
    // The backward gets the cotangent and, when `save_out`, the output (with this
    // node as its grad_fn, so that a rule using it is differentiable again); the
    // jvp gets the output the same way (its tangent may be differentiated: eg.hvp),
    // then the input tangents.
    std::vector<Meta> metas;
    for (const Variable& x : inputs) metas.push_back(Meta{x.shape(), x.dtype()});
    BackwardFn vjp = [op, fn = hold(std::move(backward)), metas](const BackwardArgs& a) {
      py::gil_scoped_acquire gil;
      py::object result = (*fn)(a.gout, a.out.defined() ? py::cast(a.out) : py::none());
      return rule_results(op, "backward", "input", result, metas, a.lead_shape());
    };
    JvpFn fwd;
    if (!jvp.is_none())
      fwd = [op, fn = hold(std::move(jvp))](const JvpArgs& a) {
        py::gil_scoped_acquire gil;
        py::list tangents;
        tangents.append(a.out);
        for (const Variable& t : a.tangents) tangents.append(grad_or_none(t));
        py::object result = (*fn)(*py::tuple(tangents));
        if (result.is_none()) return Variable();
        return rule_results(op, "jvp", "output", result, {Meta{a.out.shape(), a.out.dtype()}}, a.lead_shape())[0];
      };
    Variable result = record(op, out.data(), inputs, std::move(vjp), std::move(fwd), save_out, /*builtin=*/false);
    if (auto node = std::dynamic_pointer_cast<FunctionNode>(result.grad_fn())) {
      std::vector<Tensor> values;
      for (const Variable& v : watched) values.push_back(v.data());
      node->watch_saved_values(values);
    }
    return result;
  }, "Records `out` as computed from `inputs` by a custom function with Python rules; `watched` are "
     "the other values its rules keep (their in-place changes are checked like the inputs').");
  m.def("_record_reads", [](py::function fn) {
    py::object result;
    py::list reads;
    {
      ReadRecorder recorder;
      result = fn();
      // Returning a Variable reads it: fn may hand back one it closes over.
      std::vector<Variable> returned;
      for (py::handle item : py::isinstance<py::tuple>(result) ? py::reinterpret_borrow<py::tuple>(result)
                                                              : py::make_tuple(result))
        if (py::isinstance<Variable>(item)) returned.push_back(item.cast<const Variable&>());
      detail::note_reads(returned.data(), returned.size());
      for (const Variable& v : recorder.reads()) reads.append(py::cast(v));
    }
    return py::make_tuple(result, reads);
  }, py::arg("fn"),
  "(fn(), reads): reads are the Variables that require grad which ops read while fn ran with grad mode\n"
  "off, and those fn returned (alone or in a tuple), each once, in the order first read (see\n"
  "ReadRecorder, eigengrad/ops.h).");
  m.def("_forward_levels_open", &forward_levels_open, "Whether tangents may flow (a forward level is open).");
}
