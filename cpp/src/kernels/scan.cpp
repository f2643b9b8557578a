// Scans and orderings along one axis.
//
// Note [Scan order]
// A scan adds (or multiplies) along its axis strictly in order, element after
// element: out[i] = out[i-1] op x[i]. The loop that the compiler vectorises runs
// across the other axes (the `inner` elements that share a position on the scanned
// axis), so every output element is the same chain of IEEE operations whatever the
// vector width: cumsum, cumprod and prod give the same bits on every instruction
// set, and a * h + g is two roundings (no FMA: -ffp-contract=off in the build).
#include "scan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../dispatch.h"

namespace eigengrad::kernels {

namespace {

/// A shape seen as (outer, dim, inner) around one axis.
struct Split {
  std::int64_t outer = 1, dim = 1, inner = 1;
  Split(const Shape& shape, std::int64_t axis) {
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
      if (d < axis) outer *= shape[d];
      else if (d == axis) dim = shape[d];
      else inner *= shape[d];
    }
  }
};

/// Calls step(previous row, row, i) for the rows of one (dim, inner) block in scan
/// order; previous is null for the first row.
template <class T, class Step>
void scan_rows(T* block, const Split& s, bool reverse, Step step) {
  for (std::int64_t k = 0; k < s.dim; ++k) {
    const std::int64_t i = reverse ? s.dim - 1 - k : k;
    T* row = block + i * s.inner;
    step(k == 0 ? nullptr : row + (reverse ? s.inner : -s.inner), row, i);
  }
}

}  // namespace

Tensor scan(Scan op, const Tensor& x, std::int64_t axis, bool reverse) {
  Tensor out = x.clone();
  const Split s(x.shape(), axis);
  if (out.numel() == 0) return out;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (std::int64_t o = 0; o < s.outer; ++o)
      scan_rows<T>(out.data_as<T>() + o * s.dim * s.inner, s, reverse, [&](const T* prev, T* row, std::int64_t) {
        if (!prev) return;
        if (op == Scan::Sum)
          for (std::int64_t j = 0; j < s.inner; ++j) row[j] = prev[j] + row[j];
        else
          for (std::int64_t j = 0; j < s.inner; ++j) row[j] = prev[j] * row[j];
      });
  });
  return out;
}

Tensor linrec(const Tensor& g, const Tensor& a, std::int64_t axis, bool reverse, bool strong) {
  Tensor out = g.clone();
  const Split s(g.shape(), axis);
  if (out.numel() == 0) return out;
  dispatch(g.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (std::int64_t o = 0; o < s.outer; ++o) {
      const T* pa = a.data_as<T>() + o * s.dim * s.inner;
      scan_rows<T>(out.data_as<T>() + o * s.dim * s.inner, s, reverse, [&](const T* prev, T* row, std::int64_t i) {
        if (!prev) return;
        const T* ai = pa + i * s.inner;
        if (strong)  // a * 0 is NaN only for an infinite or NaN a: then 0 (else the same bits as plain)
          for (std::int64_t j = 0; j < s.inner; ++j) {
            const T p = ai[j] * prev[j];
            row[j] += prev[j] == T(0) && p != p ? T(0) : p;
          }
        else
          for (std::int64_t j = 0; j < s.inner; ++j) row[j] += ai[j] * prev[j];
      });
    }
  });
  return out;
}

namespace {
/// Strict weak order of NumPy's sort: NaN after every number.
template <class T>
bool before(T a, T b) {
  return a < b || (std::isnan(b) && !std::isnan(a));
}
}  // namespace

std::vector<std::int64_t> argsort(const Tensor& x, std::int64_t axis) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(x.numel()));
  if (out.empty()) return out;
  const Split s(x.shape(), axis);
  std::vector<std::int64_t> order(static_cast<std::size_t>(s.dim));
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t j = 0; j < s.inner; ++j) {
        const T* base = px + o * s.dim * s.inner + j;
        std::iota(order.begin(), order.end(), std::int64_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::int64_t p, std::int64_t q) {
          return before(base[p * s.inner], base[q * s.inner]);
        });
        for (std::int64_t i = 0; i < s.dim; ++i)
          out[static_cast<std::size_t>((o * s.dim + i) * s.inner + j)] = order[static_cast<std::size_t>(i)];
      }
  });
  return out;
}

std::vector<std::int64_t> argextremum(const Tensor& x, std::int64_t axis, bool max) {
  const Split s(x.shape(), axis);
  std::vector<std::int64_t> out(static_cast<std::size_t>(s.outer * s.inner), 0);
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t j = 0; j < s.inner; ++j) {
        const T* base = px + o * s.dim * s.inner + j;
        std::int64_t best = 0;
        for (std::int64_t i = 1; i < s.dim && !std::isnan(base[best * s.inner]); ++i) {
          const T v = base[i * s.inner], b = base[best * s.inner];
          if (std::isnan(v) || (max ? v > b : v < b)) best = i;
        }
        out[static_cast<std::size_t>(o * s.inner + j)] = best;
      }
  });
  return out;
}

}  // namespace eigengrad::kernels
