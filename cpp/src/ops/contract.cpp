// Tensor contractions written with transpose, reshape and matmul (whose rules they
// use): tensordot.
#include <algorithm>

#include "common.h"

namespace eigengrad {

using detail::normalize_axis;

// tensordot(x, y, axes_x, axes_y) = sum over the paired axes of x[free_x, k] y[k, free_y]:
// x's free axes then the paired ones, y's paired axes then its free ones, each
// flattened to a matrix, one matmul, reshaped to free_x + free_y
Variable tensordot(const Variable& x0, const Variable& y0, const Dims& axes_x, const Dims& axes_y) {
  auto [x, y] = detail::promote_pair(x0, y0);
  if (axes_x.size() != axes_y.size())
    throw std::invalid_argument("tensordot: " + std::to_string(axes_x.size()) + " axes of x paired with " +
                                std::to_string(axes_y.size()) + " axes of y");
  Dims ax, ay;
  std::int64_t k = 1;
  for (std::size_t i = 0; i < axes_x.size(); ++i) {
    ax.push_back(normalize_axis("tensordot", axes_x[i], x.ndim()));
    ay.push_back(normalize_axis("tensordot", axes_y[i], y.ndim()));
    if (x.shape()[ax.back()] != y.shape()[ay.back()])
      throw std::invalid_argument("tensordot: shape-mismatch for sum: axis " + std::to_string(ax.back()) +
                                  " of x of shape " + shape_str(x.shape()) + " and axis " +
                                  std::to_string(ay.back()) + " of y of shape " + shape_str(y.shape()));
    k *= x.shape()[ax.back()];
  }
  for (const auto* axes : {&ax, &ay}) {
    Dims sorted = *axes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw std::invalid_argument("tensordot: repeated axis in the axes of " + std::string(axes == &ax ? "x" : "y"));
  }
  auto free_axes = [](const Variable& v, const Dims& paired, Shape& shape, std::int64_t& n) {
    Dims out;
    for (std::int64_t d = 0; d < v.ndim(); ++d)
      if (std::find(paired.begin(), paired.end(), d) == paired.end()) {
        out.push_back(d);
        shape.push_back(v.shape()[d]);
        n *= v.shape()[d];
      }
    return out;
  };
  Shape out_shape;
  std::int64_t m = 1, n = 1;
  Dims perm_x = free_axes(x, ax, out_shape, m), free_y = free_axes(y, ay, out_shape, n);
  perm_x.insert(perm_x.end(), ax.begin(), ax.end());
  Dims perm_y = ay;
  perm_y.insert(perm_y.end(), free_y.begin(), free_y.end());
  Variable a = reshape(transpose(x, perm_x), {m, k});
  Variable b = reshape(transpose(y, perm_y), {k, n});
  return reshape(matmul(a, b), out_shape);
}

}  // namespace eigengrad
