// The one table of public differentiable ops. The Python test suite checks that
// every name here has samples in tests/ops/samples.py.
#include "eigengrad/ops.h"

namespace eigengrad {

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = {
      // unary
      "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "log1p", "expm1",
      "square", "sign",
      // binary
      "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "clip", "astype",
      // reduce
      "sum", "mean", "max", "min", "logsumexp", "norm", "sum_to",
      // shape
      "reshape", "transpose", "broadcast_to", "slice", "take", "concatenate", "stack",
      // linalg
      "matmul",
      // nn
      "softmax", "log_softmax",
      // loss (fused nn ops)
      "linear", "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
  };
  return names;
}

}  // namespace eigengrad
