// Bindings of the fused nn ops (eigengrad/nn.h) and the optimizers
// (eigengrad/optim.h). Conversion only: the C++ API validates and computes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bind_nn.h"
#include "batchable.h"
#include "convert.h"

namespace py = pybind11;
using namespace eigengrad;
using namespace eigengrad::python;

namespace {

/// Integer class labels as a flat vector. Their dtype (integers only: a float or
/// bool array, or a Variable, is a TypeError) and their number of dimensions
/// (one less than the logits') are how Python spells them, so they are read here.
std::vector<std::int64_t> to_labels(py::handle labels, const Variable& logits) {
  reject_batched(labels, "cross_entropy");
  if (py::isinstance<Variable>(labels))
    throw TypeError("cross_entropy: labels must be integers, got a Variable (float" +
                    std::string(labels.cast<const Variable&>().dtype() == DType::Float32 ? "32" : "64") +
                    "); pass a NumPy integer array");
  py::array arr = py::module_::import("numpy").attr("asarray")(labels);
  const char kind = arr.dtype().kind();
  if (kind != 'i' && kind != 'u' && arr.size() != 0)
    throw TypeError("cross_entropy: labels must be integers, got dtype " + py::str(arr.dtype()).cast<std::string>());
  if (arr.ndim() != logits.ndim() - 1)
    throw std::invalid_argument("cross_entropy: labels of shape " +
                                shape_str(Shape(arr.shape(), arr.shape() + arr.ndim())) + " for logits of shape " +
                                shape_str(logits.shape()) + " (expected " +
                                (logits.ndim() == 2 ? "(N,) for logits (N, C)" : "a 0-d label for logits (C,)") + ")");
  py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> idx(arr);
  return std::vector<std::int64_t>(idx.data(), idx.data() + idx.size());
}

py::object numpy_or_none(const Tensor& t) { return t.defined() ? py::object(tensor_to_numpy(t)) : py::none(); }

/// An optimizer's state entry as a Tensor (None: undefined); the optimizer copies it.
Tensor tensor_or_none(py::handle value, const char* op) {
  return value.is_none() ? Tensor() : tensor_from_python(value, std::nullopt, op);
}

std::vector<Variable> to_params(py::handle params, const char* op) {
  std::vector<Variable> out;
  for (py::handle p : params) {
    if (!py::isinstance<Variable>(p))
      throw TypeError(std::string(op) + ": parameters must be Variables, got " +
                      py::str(py::type::of(p)).cast<std::string>());
    out.push_back(p.cast<const Variable&>());
  }
  return out;
}

optim::SGDOptions sgd_options(double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                              bool maximize) {
  return optim::SGDOptions{lr, momentum, dampening, weight_decay, nesterov, maximize};
}

optim::AdamOptions adam_options(double lr, double beta1, double beta2, double eps, double weight_decay,
                                bool amsgrad, bool maximize, bool decoupled) {
  return optim::AdamOptions{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled};
}

}  // namespace

void bind_nn(py::module_& m) {
  // ---- fused nn ops ------------------------------------------------------------
  m.def("linear", batchable("linear", [](py::handle x, py::handle W, py::handle b) {
    return linear(to_variable(x, "linear"), to_variable(W, "linear"),
                  b.is_none() ? Variable() : to_variable(b, "linear"));
  }), py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(),
  "x @ weight.T + bias, weight of shape (out, in); fused, differentiable.");
  m.def("mse_loss", batchable("mse_loss", [](py::handle x, py::handle y, const std::string& reduction) {
    auto [a, b] = to_variable_pair(x, y, "mse_loss");
    return mse_loss(a, b, parse_reduction(reduction, "mse_loss"));
  }), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def("cross_entropy", batchable("cross_entropy", [](py::handle logits, py::handle labels, const std::string& reduction) {
    Variable x = to_variable(logits, "cross_entropy");
    return cross_entropy(x, to_labels(labels, x), parse_reduction(reduction, "cross_entropy"));
  }), py::arg("logits"), py::arg("labels"), py::arg("reduction") = "mean");
  m.def("binary_cross_entropy_with_logits", batchable("binary_cross_entropy_with_logits", [](
      py::handle x, py::handle y, const std::string& reduction) {
    auto [a, b] = to_variable_pair(x, y, "binary_cross_entropy_with_logits");
    return binary_cross_entropy_with_logits(a, b, parse_reduction(reduction, "binary_cross_entropy_with_logits"));
  }), py::arg("logits"), py::arg("target"), py::arg("reduction") = "mean");

  // ---- optimizers --------------------------------------------------------------
  py::class_<optim::SGD>(m, "_SGD", "The C++ SGD state and step behind eigengrad.optim.SGD.")
      .def(py::init([](py::handle params, double lr, double momentum, double dampening, double weight_decay,
                       bool nesterov, bool maximize) {
        return std::make_unique<optim::SGD>(to_params(params, "SGD"),
                                            sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize));
      }), py::arg("params"), py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"),
      py::arg("nesterov"), py::arg("maximize"))
      .def("set_options", [](optim::SGD& o, double lr, double momentum, double dampening, double weight_decay,
                             bool nesterov, bool maximize) {
        o.set_options(sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize));
      })
      .def("step", [](optim::SGD& o) {
        py::gil_scoped_release release;
        o.step();
      })
      .def("zero_grad", &optim::SGD::zero_grad)
      .def("momentum_buffer", [](const optim::SGD& o, std::size_t i) { return numpy_or_none(o.momentum_buffer(i)); })
      .def("set_momentum_buffer", [](optim::SGD& o, std::size_t i, py::handle buffer) {
        o.set_momentum_buffer(i, tensor_or_none(buffer, "SGD.load_state_dict"));
      });

  py::class_<optim::Adam>(m, "_Adam", "The C++ Adam/AdamW state and step behind eigengrad.optim.")
      .def(py::init([](py::handle params, double lr, double beta1, double beta2, double eps, double weight_decay,
                       bool amsgrad, bool maximize, bool decoupled) {
        return std::make_unique<optim::Adam>(
            to_params(params, decoupled ? "AdamW" : "Adam"),
            adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled));
      }), py::arg("params"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled"))
      .def("set_options", [](optim::Adam& o, double lr, double beta1, double beta2, double eps, double weight_decay,
                             bool amsgrad, bool maximize, bool decoupled) {
        o.set_options(adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled));
      })
      .def("step", [](optim::Adam& o) {
        py::gil_scoped_release release;
        o.step();
      })
      .def("zero_grad", &optim::Adam::zero_grad)
      .def("state", [](const optim::Adam& o, std::size_t i) {
        py::dict d;
        d["step"] = o.step_count(i);
        d["exp_avg"] = numpy_or_none(o.exp_avg(i));
        d["exp_avg_sq"] = numpy_or_none(o.exp_avg_sq(i));
        d["max_exp_avg_sq"] = numpy_or_none(o.max_exp_avg_sq(i));
        return d;
      })
      .def("set_state", [](optim::Adam& o, std::size_t i, std::int64_t step, py::handle exp_avg,
                           py::handle exp_avg_sq, py::handle max_exp_avg_sq) {
        const char* op = o.options().decoupled_weight_decay ? "AdamW.load_state_dict" : "Adam.load_state_dict";
        o.set_state(i, step, tensor_or_none(exp_avg, op), tensor_or_none(exp_avg_sq, op),
                    tensor_or_none(max_exp_avg_sq, op));
      });
}
