// Kernels that move elements without arithmetic (but for the adds of take_backward).
#include <cstring>

#include "../dispatch.h"
#include "kernels.h"
#include "strided.h"

namespace eigengrad::kernels {

namespace {

// Copies (or adds, for Accumulate) n elements with strides, typed by element size.
template <class T, bool Accumulate>
void strided_copy(const Shape& shape, const T* src, Dims src_strides, T* dst, Dims dst_strides) {
  std::array<Dims, 2> strides{std::move(dst_strides), std::move(src_strides)};
  for_each_row<2>(shape, strides, [&](const auto& off, std::int64_t n, const auto& s) {
    T* d = dst + off[0];
    const T* p = src + off[1];
    if (s[0] == 1 && s[1] == 1 && !Accumulate) {
      std::memcpy(d, p, static_cast<std::size_t>(n) * sizeof(T));
      return;
    }
    for (std::int64_t i = 0; i < n; ++i) {
      if constexpr (Accumulate) d[i * s[0]] += p[i * s[1]];
      else d[i * s[0]] = p[i * s[1]];
    }
  });
}

// Splits shape into (outer, dim, inner) around `axis`.
struct AxisSplit {
  std::int64_t outer = 1, dim = 1, inner = 1;
  AxisSplit(const Shape& shape, std::int64_t axis) {
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
      if (d < axis) outer *= shape[d];
      else if (d == axis) dim = shape[d];
      else inner *= shape[d];
    }
  }
};

}  // namespace

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  Tensor out(shape, x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy<T, false>(shape, x.data_as<T>(), broadcast_strides(x.shape(), shape),
                           out.data_as<T>(), contiguous_strides(shape));
  });
  return out;
}

Tensor transpose(const Tensor& x, const Dims& perm) {
  Shape shape(perm.size());
  Dims x_strides = contiguous_strides(x.shape()), src_strides(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    shape[i] = x.shape()[perm[i]];
    src_strides[i] = x_strides[perm[i]];
  }
  Tensor out(shape, x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy<T, false>(shape, x.data_as<T>(), src_strides, out.data_as<T>(),
                           contiguous_strides(shape));
  });
  return out;
}

Tensor slice(const Tensor& x, const Dims& starts, const Dims& steps, const Shape& out_shape) {
  Tensor out(out_shape, x.dtype());
  if (out.numel() == 0) return out;
  Dims x_strides = contiguous_strides(x.shape()), src_strides(starts.size());
  std::int64_t base = 0;
  for (std::size_t d = 0; d < starts.size(); ++d) {
    base += starts[d] * x_strides[d];
    src_strides[d] = steps[d] * x_strides[d];
  }
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy<T, false>(out_shape, x.data_as<T>() + base, src_strides, out.data_as<T>(),
                           contiguous_strides(out_shape));
  });
  return out;
}

Tensor slice_backward(const Tensor& g, const Shape& x_shape, const Dims& starts, const Dims& steps) {
  Tensor out = Tensor::zeros(x_shape, g.dtype());
  if (g.numel() == 0) return out;
  Dims x_strides = contiguous_strides(x_shape), dst_strides(starts.size());
  std::int64_t base = 0;
  for (std::size_t d = 0; d < starts.size(); ++d) {
    base += starts[d] * x_strides[d];
    dst_strides[d] = steps[d] * x_strides[d];
  }
  dispatch(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    strided_copy<T, false>(g.shape(), g.data_as<T>(), contiguous_strides(g.shape()),
                           out.data_as<T>() + base, dst_strides);
  });
  return out;
}

Tensor take(const Tensor& x, const std::vector<std::int64_t>& indices, const Shape& indices_shape,
            std::int64_t axis) {
  Shape shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), indices_shape.begin(), indices_shape.end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  Tensor out(shape, x.dtype());
  AxisSplit s(x.shape(), axis);
  const std::int64_t k = static_cast<std::int64_t>(indices.size());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    T* po = out.data_as<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t j = 0; j < k; ++j)
        std::memcpy(po + (o * k + j) * s.inner, px + (o * s.dim + indices[j]) * s.inner,
                    static_cast<std::size_t>(s.inner) * sizeof(T));
  });
  return out;
}

Tensor take_backward(const Tensor& g, const Shape& x_shape, const std::vector<std::int64_t>& indices,
                     std::int64_t axis) {
  Tensor out = Tensor::zeros(x_shape, g.dtype());
  AxisSplit s(x_shape, axis);
  const std::int64_t k = static_cast<std::int64_t>(indices.size());
  dispatch(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pg = g.data_as<T>();
    T* po = out.data_as<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t j = 0; j < k; ++j) {
        T* dst = po + (o * s.dim + indices[j]) * s.inner;
        const T* src = pg + (o * k + j) * s.inner;
        for (std::int64_t i = 0; i < s.inner; ++i) dst[i] += src[i];
      }
  });
  return out;
}

Tensor concatenate(const std::vector<Tensor>& xs, std::int64_t axis) {
  Shape shape = xs[0].shape();
  shape[axis] = 0;
  for (const Tensor& x : xs) shape[axis] += x.shape()[axis];
  Tensor out(shape, xs[0].dtype());
  AxisSplit s(shape, axis);
  const std::int64_t out_row = s.dim * s.inner;
  std::int64_t column = 0;
  const std::size_t size = itemsize(out.dtype());
  char* po = static_cast<char*>(out.data());
  for (const Tensor& x : xs) {
    const std::int64_t row = x.shape()[axis] * s.inner;
    const char* px = static_cast<const char*>(x.data());
    if (row > 0)
      for (std::int64_t o = 0; o < s.outer; ++o)
        std::memcpy(po + (o * out_row + column) * size, px + o * row * size,
                    static_cast<std::size_t>(row) * size);
    column += row;
  }
  return out;
}

}  // namespace eigengrad::kernels
