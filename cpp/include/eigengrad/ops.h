// eigengrad: the differentiable ops. NumPy semantics throughout: broadcasting,
// numpy.matmul, reductions over `axes` (empty optional = all axes) with `keepdims`,
// and dtype promotion (mixing float32 and float64 gives float64).
//
// Every op validates its arguments and throws (see errors.h) naming itself and the
// offending shapes or dtypes. Every op records a backward rule written with these
// same ops, so gradients of gradients work (create_graph=True).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eigengrad/variable.h"

namespace eigengrad {

using Axes = std::optional<Dims>;

namespace detail {
/// Tells the thread's ReadRecorder, if any, of the inputs an op read without
/// recording (grad mode off); a no-op when no recorder is alive.
void note_reads(const Variable* first, std::size_t n);
}  // namespace detail

// ---- element-wise, one input -------------------------------------------------
Variable neg(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
/// |x|; its derivative at 0 is taken to be 0.
Variable abs(const Variable& x);
Variable tanh(const Variable& x);
/// 1 / (1 + e^-x), computed without overflow for any x.
Variable sigmoid(const Variable& x);
/// max(x, 0); its derivative at 0 is taken to be 0.
Variable relu(const Variable& x);
Variable sin(const Variable& x);
Variable cos(const Variable& x);
Variable log1p(const Variable& x);
Variable expm1(const Variable& x);
Variable square(const Variable& x);
/// -1, 0 or 1 (NaN stays NaN); not differentiable (its gradient is zero).
Variable sign(const Variable& x);
/// Inverse tangent, in (-pi/2, pi/2).
Variable arctan(const Variable& x);
/// Inverse sine, for |x| <= 1 (NaN outside); the derivative at +-1 is +inf.
Variable arcsin(const Variable& x);
/// Inverse cosine, for |x| <= 1 (NaN outside); the derivative at +-1 is -inf.
Variable arccos(const Variable& x);
/// Hyperbolic sine.
Variable sinh(const Variable& x);
/// Hyperbolic cosine.
Variable cosh(const Variable& x);
/// Inverse hyperbolic tangent, for |x| <= 1 (+-inf at +-1, NaN outside); the
/// derivative at +-1 is +inf.
Variable arctanh(const Variable& x);
/// log(1 + e^x) (PyTorch's softplus with beta = 1, without its threshold), finite
/// for finite x and without overflow; its derivative is sigmoid(x).
Variable softplus(const Variable& x);
/// log(sigmoid(x)) = -softplus(-x), without overflow; its derivative is sigmoid(-x).
Variable log_sigmoid(const Variable& x);
/// The error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to x.
Variable erf(const Variable& x);
/// The complementary error function 1 - erf(x), accurate (no cancellation) for large x.
Variable erfc(const Variable& x);

// ---- element-wise, two or three inputs (broadcasting) -------------------------
Variable add(const Variable& x, const Variable& y);
Variable sub(const Variable& x, const Variable& y);
Variable mul(const Variable& x, const Variable& y);
Variable div(const Variable& x, const Variable& y);
/// x ** y. Conventions: d/dx = 0 where y == 0 (so d/dx x**0 = 0 at x = 0), and
/// d/dy = 0 where x == 0.
Variable pow(const Variable& x, const Variable& y);
/// log(e^x + e^y) as NumPy's logaddexp: logaddexp(-inf, -inf) = -inf. Where x == y
/// are both infinite, each input's derivative is 1/2 (the limit along x == y).
Variable logaddexp(const Variable& x, const Variable& y);
/// NumPy's arctan2(x, y): the angle in [-pi, pi] of the point (y, x), with the signs
/// of zeros and infinities as NumPy's. At x == y == 0 both derivatives are 0.
Variable arctan2(const Variable& x, const Variable& y);
/// Element-wise max; NaN propagates; ties split the gradient evenly.
Variable maximum(const Variable& x, const Variable& y);
/// Element-wise min; NaN propagates; ties split the gradient evenly.
Variable minimum(const Variable& x, const Variable& y);
/// `x` where `condition` is nonzero, else `y`. `condition` is not differentiated.
Variable where(const Tensor& condition, const Variable& x, const Variable& y);
/// x limited to [lo, hi] (either bound optional). The gradient passes where
/// lo <= x <= hi (bounds included) and where x is NaN; NaN propagates.
Variable clip(const Variable& x, std::optional<double> lo, std::optional<double> hi);
/// The values converted to `dtype`; the gradient is converted back.
Variable astype(const Variable& x, DType dtype);

// ---- reductions --------------------------------------------------------------
Variable sum(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
Variable mean(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// Maximum over `axes`; NaN propagates; ties share the gradient evenly.
Variable max(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// Minimum over `axes`; NaN propagates; ties share the gradient evenly.
Variable min(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// log(sum(exp(x))) over `axes`, shifted by the max so it is finite at +-1000.
/// Convention: over a slice that is all -inf the value is -inf and the gradient 0.
Variable logsumexp(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// The Euclidean norm sqrt(sum(x^2)) over `axes`. Convention: its gradient at 0 is
/// 0 (the minimum-norm subgradient, as PyTorch), in both modes and at any order.
Variable norm(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// Sums `x` down to `shape` (the reverse of broadcasting `shape` up to x's shape).
Variable sum_to(const Variable& x, const Shape& shape);

// ---- shape -------------------------------------------------------------------
/// Same values, new shape (one entry may be -1). Shares the buffer.
Variable reshape(const Variable& x, const Shape& shape);
/// Permutes the axes (reverses them when `axes` is empty), as numpy.transpose.
Variable transpose(const Variable& x, const Dims& axes = {});
/// Repeats `x` along broadcast dimensions to reach `shape`.
Variable broadcast_to(const Variable& x, const Shape& shape);
/// Basic slicing x[start:stop:step] on every axis; the bounds must already be
/// normalised as by Python's slice.indices (step nonzero).
Variable slice(const Variable& x, const Dims& starts, const Dims& stops, const Dims& steps);
/// numpy.take(x, indices, axis): indices (any shape, negative allowed) along `axis`.
Variable take(const Variable& x, const std::vector<std::int64_t>& indices,
              const Shape& indices_shape, std::int64_t axis);
Variable concatenate(const std::vector<Variable>& xs, std::int64_t axis = 0);
Variable stack(const std::vector<Variable>& xs, std::int64_t axis = 0);

// ---- linear algebra ----------------------------------------------------------
/// numpy.matmul: 1-D operands are promoted to a row (left) or column (right) and
/// squeezed back; leading dimensions broadcast as batch dimensions.
Variable matmul(const Variable& x, const Variable& y);

// ---- eg.linalg: solvers and decompositions (ops/decompositions.cpp) ------------
// numpy.linalg's functions and semantics, batched over the leading axes (the last
// two hold the matrices), float32 and float64 (mixed inputs promote). Shapes are
// checked first: a non-square or 1-D matrix raises ValueError naming the op and the
// shape. What the values make impossible raises LinAlgError (errors.h), naming the
// op, the shape and the matrix of the batch. Conventions (also in the README):
// signs of Q, eigenvectors and singular vectors fixed as documented below; at
// repeated eigenvalues or singular values the 1/(w_j - w_i) factors of the rules are
// 0 (Note [Repeated eigenvalues] in decompositions.cpp).
namespace linalg {
/// x with a x = b. b is a vector (n,) only when it is 1-D (NumPy 2), else a stack of
/// (n, k) matrices; batch axes broadcast. An exactly singular a raises LinAlgError.
Variable solve(const Variable& a, const Variable& b);
/// The inverse; an exactly singular matrix raises LinAlgError.
Variable inv(const Variable& a);
/// The determinant (1 for 0 x 0). Its gradient is the cofactor matrix adj(a)^T,
/// finite and exact also where a is singular (0 where rank < n - 1).
Variable det(const Variable& a);
/// sign(det a) (0 where singular; a constant) and log|det a| (-inf where singular).
struct Slogdet {
  Variable sign, logabsdet;
};
Slogdet slogdet(const Variable& a);
/// The Cholesky factor L (lower; L^T with `upper`), a = L L^T. Reads only the lower
/// (upper) triangle, as NumPy; not positive definite raises LinAlgError.
Variable cholesky(const Variable& a, bool upper = false);
/// Reduced QR, a (m, n) = Q R: Q (m, k), R (k, n), k = min(m, n), with diag(R) >= 0
/// (unique for full rank; NumPy's signs may differ). `complete` gives Q (m, m) and
/// R (m, n); Q's further m - n columns are constants (no gradient).
struct QR {
  Variable Q, R;
};
QR qr(const Variable& a, bool complete = false);
/// Eigenvalues (ascending) and eigenvectors (columns; each one's entry of largest
/// magnitude positive) of a symmetric matrix read from its lower (upper) triangle.
struct Eigh {
  Variable eigenvalues, eigenvectors;
};
Eigh eigh(const Variable& a, bool upper = false);
/// a (m, n) = U diag(S) Vh, S descending, each column of U with its entry of largest
/// magnitude positive. Reduced (k = min(m, n) columns) unless `full_matrices`; the
/// further columns of U and rows of Vh are then constants (no gradient, as PyTorch).
struct SVD {
  Variable U, S, Vh;
};
SVD svd(const Variable& a, bool full_matrices = false);
}  // namespace linalg

// ---- neural-network functions ------------------------------------------------
/// exp(x - logsumexp(x)) along `axis`.
Variable softmax(const Variable& x, std::int64_t axis = -1);
/// x - logsumexp(x) along `axis`.
Variable log_softmax(const Variable& x, std::int64_t axis = -1);

// ==== issue 14: scans, reductions, rearrangements and indexing ================
// (cpp/src/ops/scan.cpp, rearrange.cpp, index.cpp; one block for merging)

/// Integer positions along an axis, row-major with `shape`: what argsort, argmax and
/// argmin return, and what take_along_axis and scatter_add take. Not a Variable
/// (Variables hold floats) and not differentiable. Negative entries count from the
/// end of the axis, as in NumPy.
struct IndexArray {
  std::vector<std::int64_t> values;
  Shape shape;
};

/// numpy.cumsum along `axis`: out[i] = x[0] + ... + x[i], added in order (the same
/// bits on every instruction set).
Variable cumsum(const Variable& x, std::int64_t axis);
/// numpy.cumprod along `axis`, multiplied in order. The gradient is exact where x
/// holds zeros (no division by x): gx[i] = prod(x[:i]) * sum_{j>=i} gout[j] prod(x[i+1:j+1]).
Variable cumprod(const Variable& x, std::int64_t axis);
/// numpy.prod over `axes` (1 over an empty slice), multiplied in order; gradient
/// exact at zeros, as cumprod's.
Variable prod(const Variable& x, const Axes& axes = std::nullopt, bool keepdims = false);
/// numpy.var: mean((x - mean(x))^2) with divisor n - ddof (inf or NaN when that is <= 0).
Variable var(const Variable& x, const Axes& axes = std::nullopt, double ddof = 0, bool keepdims = false);
/// numpy.std = sqrt(var), computed as norm(x - mean(x)) / sqrt(n - ddof): over a
/// constant slice the gradient is 0 (the norm's convention at 0).
Variable std(const Variable& x, const Axes& axes = std::nullopt, double ddof = 0, bool keepdims = false);

/// numpy.flip: the order of the elements reversed along `axes` (all when empty).
Variable flip(const Variable& x, const Axes& axes = std::nullopt);
/// numpy.roll: elements shifted by shifts[k] along axes[k] (wrapping around). With
/// `axes` empty, x is flattened, rolled by shifts[0] and reshaped back.
Variable roll(const Variable& x, const Dims& shifts, const Axes& axes = std::nullopt);
/// numpy.tril: zeros above the k-th diagonal of the last two axes (ndim >= 2).
Variable tril(const Variable& x, std::int64_t k = 0);
/// numpy.triu: zeros below the k-th diagonal of the last two axes (ndim >= 2).
Variable triu(const Variable& x, std::int64_t k = 0);
/// numpy.diagonal: the offset-th diagonal of the axes (axis1, axis2), as the last axis.
Variable diagonal(const Variable& x, std::int64_t offset = 0, std::int64_t axis1 = 0, std::int64_t axis2 = 1);
/// numpy.diag: for 1-d x, the square matrix with x on its k-th diagonal; for 2-d x,
/// its k-th diagonal.
Variable diag(const Variable& x, std::int64_t k = 0);
/// numpy.trace: the sum of diagonal(x, offset, axis1, axis2).
Variable trace(const Variable& x, std::int64_t offset = 0, std::int64_t axis1 = 0, std::int64_t axis2 = 1);

/// numpy.take_along_axis: out[..., j, ...] = x[..., indices[..., j, ...], ...] along
/// `axis`; indices has x's ndim and broadcasts with x on the other axes. The gradient
/// adds gout back at the taken positions (repeated indices add up).
Variable take_along_axis(const Variable& x, const IndexArray& indices, std::int64_t axis);
/// The adjoint of take_along_axis: x with values[p] added at the position p with its
/// `axis` coordinate replaced by indices[p] (repeated indices add up). indices has
/// x's ndim and, on the other axes, sizes no larger than x's (PyTorch's scatter_add);
/// values broadcasts to indices' shape.
Variable scatter_add(const Variable& x, const IndexArray& indices, const Variable& values, std::int64_t axis);
/// numpy.sort along `axis` (stable, NaN last); the gradient goes back through the
/// permutation argsort gives (to the first of equal values the first slot, and so on).
Variable sort(const Variable& x, std::int64_t axis = -1);
/// numpy.argsort(kind="stable") along `axis`: ties keep their order, NaN last.
IndexArray argsort(const Variable& x, std::int64_t axis = -1);
/// numpy.argmax along `axis` (nullopt: of the flattened x): the first maximum, or
/// the first NaN. With `keepdims` the axis stays as size 1.
IndexArray argmax(const Variable& x, std::optional<std::int64_t> axis = std::nullopt, bool keepdims = false);
/// numpy.argmin, as argmax.
IndexArray argmin(const Variable& x, std::optional<std::int64_t> axis = std::nullopt, bool keepdims = false);

/// numpy.pad with mode "constant": pad_width[d] = {before, after} elements of
/// `value` around axis d (one pair per axis, none negative).
Variable pad(const Variable& x, const std::vector<std::pair<std::int64_t, std::int64_t>>& pad_width,
             double value = 0);
/// numpy.tensordot: the sum over axes_x[i] of x paired with axes_y[i] of y; the
/// result has x's other axes, then y's.
Variable tensordot(const Variable& x, const Variable& y, const Dims& axes_x, const Dims& axes_y);

// ==== end of issue 14 block ===================================================

// ---- operators (C++ convenience) ---------------------------------------------
inline Variable operator+(const Variable& x, const Variable& y) { return add(x, y); }
inline Variable operator-(const Variable& x, const Variable& y) { return sub(x, y); }
inline Variable operator*(const Variable& x, const Variable& y) { return mul(x, y); }
inline Variable operator/(const Variable& x, const Variable& y) { return div(x, y); }
inline Variable operator-(const Variable& x) { return neg(x); }
/// A 0-d constant of x's dtype: how a C++ caller writes `x * 2.0`.
Variable scalar_like(double value, const Variable& x);
inline Variable operator+(const Variable& x, double y) { return add(x, scalar_like(y, x)); }
inline Variable operator-(const Variable& x, double y) { return sub(x, scalar_like(y, x)); }
inline Variable operator*(const Variable& x, double y) { return mul(x, scalar_like(y, x)); }
inline Variable operator/(const Variable& x, double y) { return div(x, scalar_like(y, x)); }
inline Variable operator*(double x, const Variable& y) { return mul(scalar_like(x, y), y); }

/// The same values as a new Variable (an identity op: gx = gout, tout = tx); how
/// make_dual gives a value a tangent without touching the caller's Variable.
Variable alias(const Variable& x);
/// The same values in a new buffer, differentiable (gx = gout, tout = tx): how a
/// recorded gradient gets a buffer of its own.
Variable copy(const Variable& x);

/// While alive, collects on this thread every Variable that requires grad and that
/// an op reads with grad mode off, each once, in the order first read. Under no_grad
/// such a Variable can only come from outside the code being run (a parameter it
/// closes over), which is how eg.checkpoint learns the inputs of the node it records
/// without recording a graph. Recorders nest: only the innermost one collects.
class ReadRecorder {
 public:
  ReadRecorder();
  ~ReadRecorder();
  ReadRecorder(const ReadRecorder&) = delete;
  ReadRecorder& operator=(const ReadRecorder&) = delete;
  const std::vector<Variable>& reads() const { return reads_; }

 private:
  friend void detail::note_reads(const Variable* first, std::size_t n);
  std::vector<Variable> reads_;
  ReadRecorder* previous_;
};

// ---- strong zero -------------------------------------------------------------
/// Whether derivative rules keep a zero cotangent or tangent zero: in every rule's
/// product `g * d` of a cotangent (or tangent) g and a local derivative d, 0 * inf
/// and 0 * NaN give 0, so `where(x > 0, sqrt(x), 0)` has gradient 0 at x <= 0. A
/// nonzero g times inf stays inf, a NaN g stays NaN, forward values never change.
/// On by default. Process-wide; read when a rule runs (in backward, or as a
/// forward-mode op computes its tangent), not when the op is recorded. Off gives
/// PyTorch's products (0 * inf = NaN). Matrix products (matmul, linear) are plain
/// products either way. See Note [Strong zero] in cpp/src/kernels/strong_zero.h.
bool strong_zero_enabled();
void set_strong_zero(bool enabled);

/// RAII: sets strong zero for a scope and restores the previous setting.
class StrongZeroMode {
 public:
  explicit StrongZeroMode(bool enabled) : previous_(strong_zero_enabled()) { set_strong_zero(enabled); }
  ~StrongZeroMode() { set_strong_zero(previous_); }
  StrongZeroMode(const StrongZeroMode&) = delete;
  StrongZeroMode& operator=(const StrongZeroMode&) = delete;

 private:
  bool previous_;
};

/// One line of the op table (cpp/src/ops/ops.cpp).
struct OpEntry {
  const char* name;
  detail::SavedReads reads;                                    // what the backward rule reads
  Variable (*unary)(const Variable&) = nullptr;                // element-wise ops: bound from here
  Variable (*binary)(const Variable&, const Variable&) = nullptr;
  const char* doc = nullptr;
  bool is_public = true;  // false: recorded only inside other ops' rules
};
/// Every op, public and internal.
const std::vector<OpEntry>& op_table();
/// The names of every public differentiable op (drives the test coverage check).
const std::vector<std::string>& op_names();

}  // namespace eigengrad
