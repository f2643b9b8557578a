// eg.linalg: solve, inv, det, slogdet, cholesky, qr, eigh, svd. Batched over the
// leading axes; every rule is written with differentiable ops (matmul, solve, inv,
// masks), so second and higher derivatives work.
//
// Ops with several results (qr, eigh, svd) record one node whose output packs them
// along axis -2 ([Q; R], [w; V], [U; s; V]); the public functions return slices of
// it, so the engine sums the cotangents of whichever results a loss uses (an
// unused one contributes zeros) and the rules see all of them at once.
//
// Note [Symmetric input read from one triangle]
// cholesky and eigh read only the lower triangle of a (as NumPy and LAPACK): they
// are functions of T(a) = tril(a) + tril(a, -1)^T. For a rule's gradient S with
// respect to a symmetric argument, the chain rule through T gives 2 S_ij below the
// diagonal, S_ii on it and 0 above: with S = (X + X^T) / 2 that is (X + X^T) ∘ Φ,
// Φ = 1 below the diagonal, 1/2 on it, 0 above. (PyTorch returns S itself; for a
// symmetric parameterisation a = f(p) both give the same gradient of p.)
//
// Note [Repeated eigenvalues]
// The eigh and svd rules divide by w_j - w_i (svd: s_j - s_i). Where two values are
// equal the factor is taken as 0, not inf: the gradient is then the one of any loss
// that does not depend on the choice of basis inside the repeated eigenspace
// (functions of the eigenvalues, the whole eigenspace's projector, U Vh), and
// finite. "Equal" means within rounding, |w_j - w_i| <= 8 n eps max|w| (per
// matrix): a matrix with a repeated eigenvalue gets computed eigenvalues a few ulps
// apart, and 1/(w_j - w_i) ~ 1e16 there would turn the rounding of the terms that
// cancel for such losses into O(1) errors. For a loss that does depend on the basis
// no gradient exists; PyTorch returns inf or NaN there. Values further apart give
// large factors, as the maths says.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"
#include "../dispatch.h"
#include "../kernels/decompositions.h"

namespace eigengrad {

using detail::align;
using detail::constant;
using detail::promote_pair;
using detail::record_op;
using detail::strong_div;
using detail::strong_mul;
using detail::swap_last;
using detail::unbroadcast;
using Grads = std::vector<Variable>;

namespace {

// ---- helpers: shapes, masks, solves -------------------------------------------------


/// x[..., r0:r1, c0:c1] (every leading axis whole).
Variable block(const Variable& x, std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
  Dims starts, stops, steps(x.shape().size(), 1);
  for (std::size_t d = 0; d + 2 < x.shape().size(); ++d) {
    starts.push_back(0);
    stops.push_back(x.shape()[d]);
  }
  starts.insert(starts.end(), {r0, c0});
  stops.insert(stops.end(), {r1, c1});
  return slice(x, starts, stops, steps);
}

Variable rows(const Variable& x, std::int64_t r0, std::int64_t r1) { return block(x, r0, r1, 0, x.shape().back()); }

/// A constant n x n matrix of x's dtype with entries f(i, j).
template <class F>
Variable pattern(std::int64_t n, const Variable& like, F f) {
  std::vector<double> v(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) v[static_cast<std::size_t>(i * n + j)] = f(i, j);
  return constant(Tensor::from_vector(v, {n, n}, like.dtype()));
}
Variable eye(std::int64_t n, const Variable& like) { return pattern(n, like, [](auto i, auto j) { return i == j; }); }
/// Φ of Note [Symmetric input read from one triangle]: 1 below the diagonal, 1/2 on it.
Variable phi(std::int64_t n, const Variable& like) {
  return pattern(n, like, [](auto i, auto j) { return i > j ? 1.0 : i == j ? 0.5 : 0.0; });
}
Variable strictly_lower(std::int64_t n, const Variable& like) {
  return pattern(n, like, [](auto i, auto j) { return i > j; });
}
Variable lower(std::int64_t n, const Variable& like) { return pattern(n, like, [](auto i, auto j) { return i >= j; }); }

/// T(t) = tril(t) + tril(t, -1)^T: the symmetric matrix a triangle-reading op sees.
Variable from_lower(const Variable& t) {
  const std::int64_t n = t.shape().back();
  return t * lower(n, t) + swap_last(t * strictly_lower(n, t));
}

/// Sum over the last two axes (a Frobenius inner product after a mul).
Variable sum_matrix(const Variable& x, bool keepdims = false) { return sum(x, Axes{{-2, -1}}, keepdims); }

/// x[..., None, None]
Variable as_matrix(const Variable& x) {
  Shape s = x.shape();
  s.insert(s.end(), {1, 1});
  return reshape(x, s);
}

/// The diagonal of each matrix as a row (..., 1, n).
Variable diagonal_row(const Variable& x) { return sum(x * eye(x.shape().back(), x), Axes{{-2}}, true); }

/// 1 where values v_i and v_j of a row (..., 1, n) are apart, 0 where they count as
/// equal: |v_j - v_i| <= kTie n eps max|v| (Note [Repeated eigenvalues]). With
/// `sum`, where |v_j + v_i| is above that bound instead (and i != j).
Tensor apart(const Tensor& v, bool sum = false) {
  constexpr double kTie = 8;
  const std::int64_t n = v.shape().back(), batch = n ? v.numel() / n : 0;
  Shape s = v.shape();
  s[s.size() - 2] = n;
  Tensor out(s, v.dtype());
  dispatch(v.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T eps = std::numeric_limits<T>::epsilon();
    for (std::int64_t b = 0; b < batch; ++b) {
      const T* p = v.data_as<T>() + b * n;
      T largest = 0;
      for (std::int64_t j = 0; j < n; ++j) largest = std::max(largest, std::abs(p[j]));
      const T tol = T(kTie) * T(n) * eps * largest;
      T* o = out.data_as<T>() + b * n * n;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n; ++j)
          o[i * n + j] = (sum ? i != j && std::abs(p[j] + p[i]) > tol : std::abs(p[j] - p[i]) > tol) ? T(1) : T(0);
    }
  });
  return out;
}

/// F_ij = 1 / d_ij where values i and j are apart (`apart`), else 0; differentiable in d.
Variable reciprocal_where(const Tensor& apart, const Variable& d) {
  Variable safe = where(apart, d, scalar_like(1.0, d));
  return where(apart, div(scalar_like(1.0, d), safe), scalar_like(0.0, d));
}

Variable solve_matrix(const Variable& a, const Variable& b);

/// a^-1 b, batch axes broadcast (shapes already valid).
Variable left_solve(const Variable& a, const Variable& b) { return solve_matrix(a, b); }
/// x a^-1
Variable right_solve(const Variable& x, const Variable& a) { return swap_last(solve_matrix(swap_last(a), swap_last(x))); }

/// inv(a) inside a rule, whose error names the op differentiated.
Variable inverse_for(const char* op, const Variable& a) {
  try {
    return linalg::inv(a);
  } catch (const LinAlgError&) {
    throw LinAlgError(std::string(op) + ": the derivative at a singular matrix (shape " + shape_str(a.shape()) +
                      ") is not defined here: it needs the matrix's inverse");
  }
}

void check_matrix(const char* op, const Variable& a, bool square) {
  if (a.ndim() < 2)
    throw std::invalid_argument(std::string(op) + ": expected an array of at least 2 dimensions, got shape " +
                                shape_str(a.shape()));
  if (square && a.shape()[a.ndim() - 1] != a.shape()[a.ndim() - 2])
    throw std::invalid_argument(std::string(op) + ": last 2 dimensions of the array must be square, got shape " +
                                shape_str(a.shape()));
}

Shape batch_shape(const Variable& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

// ---- solve ---------------------------------------------------------------------------

// solve(a, b) = a^-1 b = out, for matrices b; batch axes broadcast
//   vjp: gb = unbroadcast(solve(a^T, gout)), ga = unbroadcast(-solve(a^T, gout) out^T)
//   jvp: tout = solve(a, tb - ta out)
Variable solve_matrix(const Variable& a, const Variable& b) {
  Shape batch = kernels::broadcast_shapes("solve", batch_shape(a), batch_shape(b));
  return record_op("solve", kernels::lu_solve(a.data(), b.data(), batch, "solve"), {a, b},
                   [a, bs = b.shape()](const BackwardArgs& g) -> Grads {
                     Variable gb = left_solve(swap_last(a), g.gout);
                     return {g.need(0) ? unbroadcast(neg(matmul(gb, swap_last(g.out))), a.shape(), g.lead) : Variable(),
                             g.need(1) ? unbroadcast(gb, bs, g.lead) : Variable()};
                   },
                   [a, as = a.shape(), bs = b.shape()](const JvpArgs& t) {
                     const std::size_t n = static_cast<std::size_t>(t.out.ndim());
                     Variable rhs = t.has(1) ? align(t.t(1), bs, n) : Variable();
                     if (t.has(0)) {
                       Variable u = matmul(align(t.t(0), as, n), t.out);
                       rhs = rhs.defined() ? rhs - u : neg(u);
                     }
                     return left_solve(a, rhs);
                   },
                   true);
}

// cofactor(a) = adj(a)^T, = det(a) a^-T where a is invertible (out = C); internal, the
// gradient of det. With W = inv(a): dC = <W^T, ta> C - C ta^T W^T.
//   vjp: ga = <gout, C> W^T - W^T gout^T C
//   jvp: tout = <W^T, ta> C - C ta^T W^T
// Its own derivative needs a^-1: at a singular a (det's second derivative there) it raises.
Variable cofactor(const Variable& a) {
  const bool constant_one = a.shape().back() == 1;  // adj of a 1 x 1 matrix is [1]
  return record_op("cofactor", kernels::cofactor(a.data()), {a},
                   [a, constant_one](const BackwardArgs& g) -> Grads {
                     if (constant_one) return {g.gout * 0.0};
                     Variable wt = swap_last(inverse_for("det", a));
                     return {sum_matrix(g.gout * g.out, true) * wt - matmul(matmul(wt, swap_last(g.gout)), g.out)};
                   },
                   [a, constant_one](const JvpArgs& t) {
                     if (constant_one) return t.t(0) * 0.0;
                     Variable wt = swap_last(inverse_for("det", a));
                     return sum_matrix(wt * t.t(0), true) * t.out - matmul(matmul(t.out, swap_last(t.t(0))), wt);
                   },
                   true);
}

// ---- qr, eigh, svd: the packed decompositions -----------------------------------------

// qr(a) = [Q; R], a = Q R with a (m, n), m >= n, R upper triangular, diag(R) >= 0
//   N = gR R^T - Q^T gQ, K = triu(N) + triu(N, 1)^T (symmetric)
//   vjp: ga = (gQ + Q K) R^-T
//   jvp: C = Q^T ta R^-1, U = triu(C) + tril(C, -1)^T: tR = U R, tQ = ta R^-1 - Q U
Variable qr_packed(const Variable& a) {
  const std::int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back();
  return record_op("qr", kernels::qr(a.data(), false, "qr").first, {a},
                   [m, n](const BackwardArgs& g) -> Grads {
                     Variable q = rows(g.out, 0, m), r = rows(g.out, m, m + n);
                     Variable gq = rows(g.gout, 0, m), gr = rows(g.gout, m, m + n);
                     Variable nn = matmul(gr, swap_last(r)) - matmul(swap_last(q), gq);
                     Variable k = nn * swap_last(lower(n, nn)) + swap_last(nn * swap_last(strictly_lower(n, nn)));
                     return {swap_last(left_solve(r, swap_last(gq + matmul(q, k))))};
                   },
                   [m, n](const JvpArgs& t) {
                     Variable q = rows(t.out, 0, m), r = rows(t.out, m, m + n);
                     Variable b = right_solve(t.t(0), r);
                     Variable c = matmul(swap_last(q), b);
                     Variable low = c * strictly_lower(n, c);
                     Variable u = c - low + swap_last(low);
                     return concatenate({b - matmul(q, u), matmul(u, r)}, -2);
                   },
                   true);
}

// eigh(a) = [w; V], T(a) = V diag(w) V^T, w ascending (Note [Symmetric input read
// from one triangle]); K_ij = 1 / (w_j - w_i), 0 where equal (Note [Repeated eigenvalues])
//   vjp: X = V (diag(gw) + K ∘ (V^T gV)) V^T, ga = (X + X^T) ∘ Φ
//   jvp: P = V^T T(ta) V: tw = diag(P), tV = V (K ∘ P)
Variable eigh_packed(const Variable& a) {
  const std::int64_t n = a.shape().back();
  auto gaps = [n](const Variable& out) {
    Variable w = rows(out, 0, 1);
    return reciprocal_where(apart(w.data()), w - swap_last(w));
  };
  return record_op("eigh", kernels::eigh(a.data(), "eigh"), {a},
                   [n, gaps](const BackwardArgs& g) -> Grads {
                     Variable v = rows(g.out, 1, n + 1);
                     Variable gw = rows(g.gout, 0, 1), gv = rows(g.gout, 1, n + 1);
                     Variable inner = gw * eye(n, gw) + gaps(g.out) * matmul(swap_last(v), gv);
                     Variable x = matmul(matmul(v, inner), swap_last(v));
                     return {(x + swap_last(x)) * phi(n, x)};
                   },
                   [n, gaps](const JvpArgs& t) {
                     Variable v = rows(t.out, 1, n + 1);
                     Variable p = matmul(matmul(swap_last(v), from_lower(t.t(0))), v);
                     return concatenate({diagonal_row(p), matmul(v, gaps(t.out) * p)}, -2);
                   },
                   true);
}

// svd(a) = [U; s; V], a = U diag(s) V^T, a (m, n), k = min(m, n), s descending.
// With P = U^T ta V, U^T tU and V^T tV are the skew matrices
//   Ω_U = (E ∘ (P + P^T) + G ∘ (P - P^T)) / 2,  Ω_V = (E ∘ (P + P^T) - G ∘ (P - P^T)) / 2,
// E_ij = 1 / (s_j - s_i), G_ij = 1 / (s_j + s_i) (i != j): split so, only E holds
// the basis choice inside a repeated singular value, and it alone is 0 at ties
// (Note [Repeated eigenvalues]); G is 0 only where s_i + s_j is (two zero values).
//   jvp: ts = diag(P), tU = U Ω_U + (I - U U^T) ta V S^-1, tV = V Ω_V + (I - V V^T) ta^T U S^-1
//   vjp: X = U^T gU + V^T gV, Y = U^T gU - V^T gV,
//        P̄ = (E ∘ (X - X^T) + G ∘ (Y - Y^T)) / 2 + diag(gs),
//        ga = U P̄ V^T + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T)
// The terms with (I - U U^T) vanish when U is square (m == k) and are left out there
// (rounding would otherwise be divided by a zero singular value); likewise for V.
// Divisions by s are strong: a zero numerator gives 0 where s == 0.
Variable svd_packed(const Variable& a) {
  const std::int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back(), k = std::min(m, n);
  // E and G from the singular values (a row), differentiable in them
  auto factors = [](const Variable& s) {
    return std::make_pair(reciprocal_where(apart(s.data()), s - swap_last(s)),
                          reciprocal_where(apart(s.data(), true), s + swap_last(s)));
  };
  return record_op("svd", kernels::svd(a.data(), false, "svd").packed, {a},
                   [m, n, k, factors](const BackwardArgs& g) -> Grads {
                     Variable u = rows(g.out, 0, m), s = rows(g.out, m, m + 1), v = rows(g.out, m + 1, m + 1 + n);
                     Variable gu = rows(g.gout, 0, m), gs = rows(g.gout, m, m + 1);
                     Variable gv = rows(g.gout, m + 1, m + 1 + n);
                     auto [e, h] = factors(s);
                     Variable ut_gu = matmul(swap_last(u), gu), vt_gv = matmul(swap_last(v), gv);
                     Variable x = ut_gu + vt_gv, y = ut_gu - vt_gv;
                     Variable pbar = (e * (x - swap_last(x)) + h * (y - swap_last(y))) * 0.5 + gs * eye(k, gs);
                     Variable ga = matmul(matmul(u, pbar), swap_last(v));
                     if (m > k) ga = ga + matmul(strong_div(gu - matmul(u, ut_gu), s), swap_last(v));
                     if (n > k) ga = ga + matmul(u, swap_last(strong_div(gv - matmul(v, vt_gv), s)));
                     return {ga};
                   },
                   [m, n, k, factors](const JvpArgs& t) {
                     Variable u = rows(t.out, 0, m), s = rows(t.out, m, m + 1), v = rows(t.out, m + 1, m + 1 + n);
                     const Variable& ta = t.t(0);
                     auto [e, h] = factors(s);
                     Variable p = matmul(matmul(swap_last(u), ta), v);
                     Variable sym = e * (p + swap_last(p)), skew = h * (p - swap_last(p));
                     Variable tu = matmul(u, (sym + skew) * 0.5), tv = matmul(v, (sym - skew) * 0.5);
                     if (m > k) {
                       Variable av = matmul(ta, v);
                       tu = tu + strong_div(av - matmul(u, matmul(swap_last(u), av)), s);
                     }
                     if (n > k) {
                       Variable au = matmul(swap_last(ta), u);
                       tv = tv + strong_div(au - matmul(v, matmul(swap_last(v), au)), s);
                     }
                     return concatenate({tu, diagonal_row(p), tv}, -2);
                   },
                   true);
}

}  // namespace

namespace linalg {

Variable solve(const Variable& a0, const Variable& b0) {
  check_matrix("solve", a0, true);
  if (b0.ndim() == 0)
    throw std::invalid_argument("solve: b must have at least 1 dimension, got shape ()");
  auto [a, b] = promote_pair(a0, b0);
  const std::int64_t n = a.shape().back();
  const bool vector = b.ndim() == 1;
  if (b.shape()[vector ? 0 : b.ndim() - 2] != n)
    throw std::invalid_argument("solve: b of shape " + shape_str(b0.shape()) + " does not match a of shape " +
                                shape_str(a0.shape()) + " (b needs " + std::to_string(n) + " rows)");
  Variable bm = vector ? reshape(b, {n, 1}) : b;
  try {
    kernels::broadcast_shapes("solve", batch_shape(a), batch_shape(bm));
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("solve: batch dimensions of a " + shape_str(a0.shape()) + " and b " +
                                shape_str(b0.shape()) + " could not be broadcast together");
  }
  Variable x = solve_matrix(a, bm);
  if (!vector) return x;
  Shape s(x.shape().begin(), x.shape().end() - 1);
  return reshape(x, s);
}

// inv(a) = a^-1 = out
//   vjp: ga = -out^T gout out^T
//   jvp: tout = -out ta out
Variable inv(const Variable& a) {
  check_matrix("inv", a, true);
  return record_op("inv", kernels::inverse(a.data(), "inv"), {a},
                   [](const BackwardArgs& g) -> Grads {
                     Variable wt = swap_last(g.out);
                     return {neg(matmul(matmul(wt, g.gout), wt))};
                   },
                   [](const JvpArgs& t) { return neg(matmul(matmul(t.out, t.t(0)), t.out)); }, true);
}

// det(a)
//   vjp: ga = gout cof(a)          (cof(a) = adj(a)^T: finite, and right, at rank n - 1)
//   jvp: tout = <cof(a), ta>
Variable det(const Variable& a) {
  check_matrix("det", a, true);
  return record_op("det", kernels::det(a.data()), {a},
                   [a](const BackwardArgs& g) -> Grads { return {strong_mul(as_matrix(g.gout), cofactor(a))}; },
                   [a](const JvpArgs& t) { return sum_matrix(cofactor(a) * t.t(0)); });
}

// slogdet(a) = (sign, log|det a|); sign is piecewise constant (not differentiated)
//   vjp: ga = gout a^-T
//   jvp: tout = <a^-T, ta>
// At a singular a (log|det| = -inf) the derivative does not exist: it raises LinAlgError.
Slogdet slogdet(const Variable& a) {
  check_matrix("slogdet", a, true);
  auto [sign, logabs] = kernels::slogdet(a.data());
  Variable l = record_op("slogdet", logabs, {a},
                         [a](const BackwardArgs& g) -> Grads {
                           return {strong_mul(as_matrix(g.gout), swap_last(inverse_for("slogdet", a)))};
                         },
                         [a](const JvpArgs& t) { return sum_matrix(swap_last(inverse_for("slogdet", a)) * t.t(0)); });
  return {constant(sign), l};
}

// cholesky(a) = L, T(a) = L L^T (Note [Symmetric input read from one triangle])
//   vjp: X = L^-T Φ(L^T gout) L^-1, ga = (X + X^T) ∘ Φ    (Φ(M) = M ∘ Φ)
//   jvp: tout = L Φ(L^-1 T(ta) L^-T)
Variable cholesky(const Variable& a, bool upper) {
  check_matrix("cholesky", a, true);
  if (upper) return swap_last(cholesky(swap_last(a), false));
  const std::int64_t n = a.shape().back();
  return record_op("cholesky", kernels::cholesky(a.data(), "cholesky"), {a},
                   [n](const BackwardArgs& g) -> Grads {
                     Variable lt = swap_last(g.out);
                     Variable p = matmul(lt, g.gout) * phi(n, g.out);
                     Variable x = right_solve(left_solve(lt, p), g.out);
                     return {(x + swap_last(x)) * phi(n, x)};
                   },
                   [n](const JvpArgs& t) {
                     Variable w = right_solve(left_solve(t.out, from_lower(t.t(0))), swap_last(t.out));
                     return matmul(t.out, w * phi(n, w));
                   },
                   true);
}

QR qr(const Variable& a, bool complete) {
  check_matrix("qr", a, false);
  const std::int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back();
  if (m < n) {
    // a = [x | y] with x square: x = Q R_x and R = [R_x | Q^T y], by composition.
    Variable packed = qr_packed(block(a, 0, m, 0, m));
    Variable q = rows(packed, 0, m);
    Variable ry = matmul(swap_last(q), block(a, 0, m, m, n));
    return {q, concatenate({rows(packed, m, 2 * m), ry}, -1)};
  }
  Variable packed = qr_packed(a);
  Variable q = rows(packed, 0, m), r = rows(packed, m, m + n);
  if (!complete || m == n) return {q, r};
  // The further columns of the square Q are no function of a (any orthonormal basis
  // of the complement): constants, as PyTorch treats svd's (their gradient is ignored).
  Tensor rest = kernels::qr(a.data(), true, "qr").second;
  Shape zero_rows = batch_shape(a);
  zero_rows.insert(zero_rows.end(), {m - n, n});
  return {concatenate({q, constant(rest)}, -1), concatenate({r, constant(Tensor::zeros(zero_rows, a.dtype()))}, -2)};
}

Eigh eigh(const Variable& a, bool upper) {
  check_matrix("eigh", a, true);
  const std::int64_t n = a.shape().back();
  Variable packed = eigh_packed(upper ? swap_last(a) : a);
  Shape ws = batch_shape(a);
  ws.push_back(n);
  return {reshape(rows(packed, 0, 1), ws), rows(packed, 1, n + 1)};
}

SVD svd(const Variable& a, bool full_matrices) {
  check_matrix("svd", a, false);
  const std::int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back(), k = std::min(m, n);
  Variable packed = svd_packed(a);
  Shape ss = batch_shape(a);
  ss.push_back(k);
  Variable u = rows(packed, 0, m), s = reshape(rows(packed, m, m + 1), ss), v = rows(packed, m + 1, m + 1 + n);
  if (full_matrices && m != n) {
    // The further singular vectors are constants: gradients through them are ignored
    // (PyTorch's rule for full_matrices=True).
    kernels::SvdResult rest = kernels::svd(a.data(), true, "svd");
    u = concatenate({u, constant(rest.u_rest)}, -1);
    v = concatenate({v, constant(rest.v_rest)}, -1);
  }
  return {u, s, swap_last(v)};
}

}  // namespace linalg

}  // namespace eigengrad
