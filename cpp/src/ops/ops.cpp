// The tables of ops: the public differentiable ops (the Python test suite checks
// that every name here has samples in tests/ops/samples.py), and which input values
// each op's backward rule reads (Note [Saved values] in node.cpp).
#include <string_view>
#include <unordered_map>

#include "eigengrad/ops.h"

namespace eigengrad {

namespace {
using detail::SavedReads;

constexpr std::uint32_t kNone = 0, kX = 1, kY = 2, kXY = 3;
const SavedReads kReadsNothing{{kNone, kNone, kNone, kNone}};
const SavedReads kReadsX{{kX, kNone, kNone, kNone}};

}  // namespace

namespace detail {
const SavedReads* saved_reads(const char* op) {
  // Per op: for each input's gradient, the inputs whose values it reads. Ops that
  // use their output instead (exp, tanh, softmax, ...) or only shapes read nothing.
  static const std::unordered_map<std::string_view, SavedReads> table = {
      {"log", kReadsX}, {"abs", kReadsX}, {"sin", kReadsX}, {"cos", kReadsX},
      {"log1p", kReadsX}, {"square", kReadsX}, {"clip", kReadsX},
      {"max", kReadsX}, {"min", kReadsX}, {"logsumexp", kReadsX}, {"norm", kReadsX},
      {"cross_entropy", kReadsX},
      {"mul", {{kY, kX, kNone, kNone}}},
      {"matmul", {{kY, kX, kNone, kNone}}},
      {"div", {{kY, kY, kNone, kNone}}},
      {"pow", {{kXY, kX, kNone, kNone}}},
      {"maximum", {{kXY, kXY, kNone, kNone}}},
      {"minimum", {{kXY, kXY, kNone, kNone}}},
      {"mse_loss", {{kXY, kXY, kNone, kNone}}},
      {"binary_cross_entropy_with_logits", {{kXY, kX, kNone, kNone}}},
      {"linear", {{kY, kX, kNone, kNone}}},
      {"neg", kReadsNothing}, {"exp", kReadsNothing}, {"sqrt", kReadsNothing},
      {"tanh", kReadsNothing}, {"sigmoid", kReadsNothing}, {"relu", kReadsNothing},
      {"expm1", kReadsNothing}, {"sign", kReadsNothing}, {"add", kReadsNothing},
      {"sub", kReadsNothing}, {"where", kReadsNothing}, {"astype", kReadsNothing},
      {"sum", kReadsNothing}, {"sum_to", kReadsNothing}, {"reshape", kReadsNothing},
      {"transpose", kReadsNothing}, {"broadcast_to", kReadsNothing}, {"slice", kReadsNothing},
      {"slice_backward", kReadsNothing}, {"take", kReadsNothing}, {"take_backward", kReadsNothing},
      {"concatenate", kReadsNothing}, {"alias", kReadsNothing}, {"copy", kReadsNothing}, {"softmax", kReadsNothing},
      {"log_softmax", kReadsNothing},
  };
  // Op names are string literals: remember the last few lookups by address.
  thread_local std::pair<const char*, const SavedReads*> cache[16] = {};
  auto& slot = cache[(reinterpret_cast<std::uintptr_t>(op) >> 3) % 16];
  if (slot.first == op) return slot.second;
  auto it = table.find(op);
  const SavedReads* found = it == table.end() ? nullptr : &it->second;
  slot = {op, found};
  return found;
}

}  // namespace detail

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
