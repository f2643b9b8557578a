// The op table: one line per op, read by the graph (which input values each backward
// rule reads: Note [Saved values] in node.cpp), by the bindings (element-wise ops are
// bound from it) and by the tests (every public op has samples in
// tests/ops/samples.py). Adding an op: CONTRIBUTING.md.
#include <string_view>
#include <unordered_map>

#include "eigengrad/ops.h"

namespace eigengrad {

namespace {
using detail::SavedReads;

constexpr std::uint32_t kNone = 0, kX = 1, kY = 2, kXY = 3;
// For each input's gradient, the inputs whose values it reads (Note [Saved values]):
constexpr SavedReads kNothing{{kNone, kNone, kNone, kNone}};  // uses the output or shapes only
constexpr SavedReads kX_{{kX, kNone, kNone, kNone}};          // gx reads x
constexpr SavedReads kYX{{kY, kX, kNone, kNone}};             // gx reads y, gy reads x
constexpr SavedReads kYY{{kY, kY, kNone, kNone}};
constexpr SavedReads kXYX{{kXY, kX, kNone, kNone}};
constexpr SavedReads kXYXY{{kXY, kXY, kNone, kNone}};
// eg.linalg (decompositions.cpp)
constexpr SavedReads kXX{{kX, kX, kNone, kNone}};  // both gradients read x (solve's a)

std::vector<OpEntry> make_table() {
  return {
      // name, reads, bound element-wise (unary or binary function, docstring)
      {"neg", kNothing, neg, nullptr, "-x"},
      {"exp", kNothing, exp, nullptr, "e ** x"},
      {"log", kX_, log, nullptr, "Natural logarithm."},
      {"sqrt", kNothing, sqrt, nullptr, "Square root."},
      {"abs", kX_, abs, nullptr, "|x|; the gradient at 0 is 0."},
      {"tanh", kNothing, tanh, nullptr, "Hyperbolic tangent."},
      {"sigmoid", kNothing, sigmoid, nullptr, "1 / (1 + exp(-x)), finite for any x."},
      {"relu", kNothing, relu, nullptr, "max(x, 0); the gradient at 0 is 0."},
      {"sin", kX_, sin, nullptr, "Sine."},
      {"cos", kX_, cos, nullptr, "Cosine."},
      {"log1p", kX_, log1p, nullptr, "log(1 + x), accurate near 0."},
      {"expm1", kNothing, expm1, nullptr, "exp(x) - 1, accurate near 0."},
      {"square", kX_, square, nullptr, "x ** 2"},
      {"sign", kNothing, sign, nullptr, "-1, 0 or 1 (NaN stays NaN); its gradient is 0."},
      {"arctan", kX_, arctan, nullptr, "Inverse tangent."},
      {"arcsin", kX_, arcsin, nullptr, "Inverse sine; NaN for |x| > 1; the gradient at +-1 is +inf."},
      {"arccos", kX_, arccos, nullptr, "Inverse cosine; NaN for |x| > 1; the gradient at +-1 is -inf."},
      {"sinh", kX_, sinh, nullptr, "Hyperbolic sine."},
      {"cosh", kX_, cosh, nullptr, "Hyperbolic cosine."},
      {"arctanh", kX_, arctanh, nullptr, "Inverse hyperbolic tangent; +-inf at +-1; the gradient there is +inf."},
      {"softplus", kX_, softplus, nullptr, "log(1 + exp(x)), without overflow (PyTorch's softplus, beta=1)."},
      {"log_sigmoid", kX_, log_sigmoid, nullptr, "log(sigmoid(x)) = -softplus(-x), without overflow."},
      {"erf", kX_, erf, nullptr, "The error function."},
      {"erfc", kX_, erfc, nullptr, "1 - erf(x), accurate for large x."},
      {"add", kNothing, nullptr, add, "x + y with broadcasting."},
      {"sub", kNothing, nullptr, sub, "x - y with broadcasting."},
      {"mul", kYX, nullptr, mul, "x * y with broadcasting."},
      {"div", kYY, nullptr, div, "x / y with broadcasting."},
      {"pow", kXYX, nullptr, pow, "x ** y; d/dx is 0 where y == 0 and d/dy is 0 where x == 0."},
      {"maximum", kXYXY, nullptr, maximum, "Element-wise max; NaN propagates; ties split the gradient."},
      {"minimum", kXYXY, nullptr, minimum, "Element-wise min; NaN propagates; ties split the gradient."},
      {"logaddexp", kXYXY, nullptr, logaddexp,
       "log(exp(x) + exp(y)) as NumPy's; at x == y == +-inf each gradient is 1/2."},
      {"arctan2", kXYXY, nullptr, arctan2,
       "numpy.arctan2(x, y): the angle of the point (y, x); the gradient at (0, 0) is 0."},
      {"matmul", kYX, nullptr, matmul, "numpy.matmul: 1-D, 2-D and batched (broadcast) operands."},
      // name, reads (bound by hand in python/src: other signatures)
      {"where", kNothing}, {"clip", kX_}, {"astype", kNothing},
      {"sum", kNothing}, {"mean", kNothing}, {"max", kX_}, {"min", kX_}, {"logsumexp", kX_},
      {"norm", kX_}, {"sum_to", kNothing},
      {"reshape", kNothing}, {"transpose", kNothing}, {"broadcast_to", kNothing}, {"slice", kNothing},
      {"take", kNothing}, {"concatenate", kNothing}, {"stack", kNothing},
      {"softmax", kNothing}, {"log_softmax", kNothing},
      {"linear", kYX}, {"mse_loss", kXYXY}, {"cross_entropy", kX_},
      {"binary_cross_entropy_with_logits", kXYX},
      // ---- issue 14: scans, rearrangements, indexing (scan.cpp, rearrange.cpp, index.cpp).
      // cumprod, cumsum and scatter_add record nodes; the others are composites of
      // recorded ops, listed (as mean is) so that they have samples and bindings.
      {"cumsum", kNothing}, {"cumprod", kX_}, {"prod", kNothing}, {"var", kNothing}, {"std", kNothing},
      {"flip", kNothing}, {"roll", kNothing}, {"tril", kNothing}, {"triu", kNothing},
      {"diagonal", kNothing}, {"diag", kNothing}, {"trace", kNothing},
      {"take_along_axis", kNothing}, {"scatter_add", kNothing}, {"sort", kNothing},
      {"pad", kNothing}, {"tensordot", kNothing},
      // ---- end of issue 14 block
      // eg.linalg (ops/decompositions.cpp; bound in python/src/bind_linalg.cpp)
      {"solve", kXX}, {"inv", kNothing}, {"det", kX_}, {"slogdet", kX_},
      {"cholesky", kNothing}, {"qr", kNothing}, {"eigh", kNothing}, {"svd", kNothing},
      {"cofactor", kX_, nullptr, nullptr, nullptr, false},  // det's gradient
      // internal ops (recorded by other ops' rules; not public)
      {"slice_backward", kNothing, nullptr, nullptr, nullptr, false},
      {"take_backward", kNothing, nullptr, nullptr, nullptr, false},
      {"alias", kNothing, nullptr, nullptr, nullptr, false},
      {"copy", kNothing, nullptr, nullptr, nullptr, false},
      {"strong_mul", kYX, nullptr, nullptr, nullptr, false},
      {"strong_div", kYY, nullptr, nullptr, nullptr, false},
      {"linrec", kYY, nullptr, nullptr, nullptr, false},  // issue 14: cumprod's rules (scan.cpp)
  };
}
}  // namespace

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = make_table();
  return table;
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const OpEntry& op : op_table())
      if (op.is_public) out.emplace_back(op.name);
    return out;
  }();
  return names;
}

namespace detail {
const SavedReads* saved_reads(const char* op) {
  static const std::unordered_map<std::string_view, const SavedReads*> by_name = [] {
    std::unordered_map<std::string_view, const SavedReads*> map;
    for (const OpEntry& entry : op_table()) map.emplace(entry.name, &entry.reads);
    return map;
  }();
  // Op names are string literals: remember the last few lookups by address.
  thread_local std::pair<const char*, const SavedReads*> cache[16] = {};
  auto& slot = cache[(reinterpret_cast<std::uintptr_t>(op) >> 3) % 16];
  if (slot.first == op) return slot.second;
  auto it = by_name.find(op);
  const SavedReads* found = it == by_name.end() ? nullptr : it->second;
  slot = {op, found};
  return found;
}
}  // namespace detail

}  // namespace eigengrad
