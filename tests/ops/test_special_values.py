"""Element-wise ops at the extremes, and the same answer on every CPU.

Note [Same result on every CPU] in cpp/src/kernels/math.h says why: an element's
result must depend on neither the instruction set (SSE, AVX2, AVX-512) nor on whether
it falls in the vectorised body or the scalar tail of a loop. These tests pin:

* NumPy's exact answer at the special points (+-0, +-inf, NaN, subnormals, the
  overflow and underflow thresholds), for every array length and position;
* each element's result is the one it gets alone (length 1, the scalar path);
* the accuracy bound documented in math.h, against 80-bit long double references;
* golden fingerprints of the results over fixed inputs, the same on every CPU, so
  that a build for another instruction set (CI builds x86-64-v2, x86-64-v3 and
  native, .ci/isa-matrix) that changed a single bit fails here.
"""

import hashlib
import math

import numpy as np
import pytest

import eigengrad as eg

DTYPES = [np.float64, np.float32]
# Lengths around the vector widths (2, 4, 8, 16 lanes) and unrolled bodies, so that
# every special value lands in the body and in the tail.
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1000, 1031]


def _numpy_sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


# op name -> the NumPy function computing the same thing.
NUMPY = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "tanh": np.tanh,
    "sigmoid": _numpy_sigmoid,
    "sin": np.sin,
    "cos": np.cos,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "negative": np.negative,
    "square": np.square,
    "sign": np.sign,
    "relu": lambda x: np.maximum(x, 0),
    "arctan": np.arctan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arctanh": np.arctanh,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "log_sigmoid": lambda x: -np.logaddexp(0.0, -x),
    # NumPy has no erf: the C library's, through math (scipy is not a test dependency)
    "erf": lambda x: np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype),
    "erfc": lambda x: np.vectorize(math.erfc, otypes=[np.float64])(x).astype(x.dtype),
}


def _eg(name):
    if name == "negative":
        return lambda v: -v
    return getattr(eg, name)


def special_points(dtype, name):
    """The points where `name` must give NumPy's exact answer: the IEEE specials,
    subnormals and the extremes of the range for every op, and the thresholds where
    this op's result overflows, underflows or saturates."""
    fi = np.finfo(dtype)
    points = [0.0, -0.0, np.inf, -np.inf, np.nan,
              fi.smallest_subnormal, -fi.smallest_subnormal, fi.tiny, -fi.tiny,
              float(fi.tiny) / 3, -float(fi.tiny) / 3, float(fi.tiny) * (1 - 2.0 ** -20),
              fi.max, -fi.max, float(fi.eps) ** 2, -float(fi.eps) ** 2]
    double = dtype == np.float64
    if name in ("log", "log1p", "sqrt"):  # the domain's edge: NaN, -inf
        points += [-1.0, -2.0]
    if name in ("exp", "expm1", "sigmoid"):
        points += ([709.782712893384, 709.7827128933841, 710.0, -708.3964185322641, -708.4,
                    -745.1332191019411, -745.1332191019412, -745.2, -746.0, -1000.0, 1000.0]
                   if double else
                   [88.72283, 88.72284, 89.0, -87.33655, -87.34, -103.27893, -103.97208, -104.0,
                    -200.0, 200.0])
    if name == "expm1":  # where e^x - 1 rounds to -1
        points += [-40.0, -37.5, -38.0, -50.0] if double else [-17.4, -18.0, -20.0]
    if name == "tanh":
        points += [19.1, 20.0, 22.0, -22.0, 40.0, 1000.0, -1000.0] if double else [9.1, 10.0, -10.0, 100.0]
    if name in ("sinh", "cosh"):  # where e^|x| / 2 overflows
        points += ([709.78, 710.4758600739439, 710.475860073944, -710.4758600739439, 711.0, 22.0, 1000.0]
                   if double else [89.41598, 89.416, -89.416, 90.0, 22.0, 100.0])
    if name in ("arcsin", "arccos", "arctanh"):  # the domain's edges
        points += [1.0, -1.0, 1.0 + float(fi.eps), -1.0 - float(fi.eps), 2.0, -2.0]
    if name in ("softplus", "log_sigmoid"):
        points += [1000.0, -1000.0, 1.0, -1.0] + ([-745.2, 745.2, 37.0, -37.0] if double else [-104.0, 17.0])
    if name == "erfc":  # where the result underflows (gradually, then to 0)
        points += [26.5, 26.55, 27.2, 27.3, 28.0, 30.0, -6.0, -30.0] if double else [9.0, 10.0, 10.06, 11.0, -4.0]
    if name == "erf":  # where erf rounds to +-1
        points += [5.9, 6.0, -6.0, 10.0] if double else [3.9, 4.0, -4.0]
    if name in ("log1p",):
        points += [-1.0 + float(fi.epsneg), -1.0 - float(fi.eps), 1e300 if double else 1e38]
    return np.array(points, dtype=dtype)


def _same(got, want):
    """Bitwise equality, NaN equal to NaN, and the sign of zero checked."""
    both_nan = np.isnan(got) & np.isnan(want)
    equal = (got == want) & (np.signbit(got) == np.signbit(want))
    return both_nan | equal


def _reference(name, x):
    """NumPy's answer; for sigmoid (not a NumPy function) and for float32 (NumPy's
    SIMD float32 kernels are not correctly rounded, eigengrad's are) the correctly
    rounded one, from long double."""
    with np.errstate(all="ignore"):
        if name == "sigmoid" or (x.dtype == np.float32 and name in ALL_RANGES):
            return NUMPY[name](x.astype(np.longdouble)).astype(x.dtype)
        return NUMPY[name](x)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(NUMPY))
def test_special_points_match_numpy_at_every_length_and_position(name, dtype):
    points = special_points(dtype, name)
    want_points = _reference(name, points)
    op = _eg(name)
    for n in LENGTHS:
        # Rotate the points through the array so each one visits body and tail.
        for shift in (0, max(1, n // 2), n - 1):
            x = np.roll(np.resize(points, n), shift)
            want = np.roll(np.resize(want_points, n), shift)
            got = op(eg.Variable(x)).numpy()
            bad = ~_same(got, want)
            assert not bad.any(), (
                f"{name} {dtype.__name__} length {n}: x={x[bad][:5]} got {got[bad][:5]} want {want[bad][:5]}")


def test_the_issue_examples():
    n = 1000  # long enough for the vectorised path
    assert np.all(eg.exp(eg.Variable(np.full(n, -np.inf))).numpy() == 0.0)
    assert np.all(eg.log(eg.Variable(np.full(n, 5e-324))).numpy() == np.log(5e-324))
    assert eg.logsumexp(eg.Variable(np.full(n, -np.inf))).numpy() == -np.inf
    logits = np.where(np.arange(n) % 2 == 0, 0.0, -np.inf)
    probs = eg.softmax(eg.Variable(logits)).numpy()
    assert np.all(probs[1::2] == 0.0)  # exactly: exp(-inf) is 0
    np.testing.assert_allclose(probs[::2], 2.0 / n, rtol=1e-15)
    assert np.all(eg.exp(eg.Variable(np.ones(n))).numpy() == np.exp(1.0))


# Inputs that avoid the libm fallback of sin/cos (so their golden fingerprint does
# not depend on the C library either).
RANGES = {
    "exp": (-745.5, 709.9), "expm1": (-50.0, 50.0), "log": (1e-300, 1e300), "log1p": (-0.999, 1e6),
    "tanh": (-25.0, 25.0), "sigmoid": (-750.0, 750.0), "sin": (-1000.0, 1000.0), "cos": (-1000.0, 1000.0),
}
RANGES32 = {
    "exp": (-104.0, 88.7), "expm1": (-20.0, 88.7), "log": (1e-38, 1e38), "log1p": (-0.999, 1e6),
    "tanh": (-10.0, 10.0), "sigmoid": (-105.0, 105.0), "sin": (-1000.0, 1000.0), "cos": (-1000.0, 1000.0),
}


# The functions added in issue 14 (kernels/math_more.h): a fingerprint of their own, so
# that the one above, which pins the first functions, stays as it was.
RANGES_MORE = {
    "arctan": (-50.0, 50.0), "arcsin": (-1.0, 1.0), "arccos": (-1.0, 1.0), "sinh": (-710.0, 710.0),
    "cosh": (-710.0, 710.0), "arctanh": (-1.0, 1.0), "softplus": (-750.0, 750.0), "log_sigmoid": (-750.0, 750.0),
    "erf": (-7.0, 7.0), "erfc": (-7.0, 28.0),
}
RANGES32_MORE = dict(RANGES_MORE, sinh=(-89.0, 89.0), cosh=(-89.0, 89.0), softplus=(-105.0, 105.0),
                     log_sigmoid=(-105.0, 105.0), erfc=(-7.0, 11.0))
ALL_RANGES = {**RANGES, **RANGES_MORE}


def fixed_inputs(name, dtype, n=10007):
    lo, hi = ({**RANGES, **RANGES_MORE} if dtype == np.float64 else {**RANGES32, **RANGES32_MORE})[name]
    # Only exact arithmetic here (no NumPy exp/log/sin, whose last bits depend on
    # the CPU): evenly spaced values, or for log mantissas in [1, 2) times powers of 2.
    if name == "log":
        top = 1000 if dtype == np.float64 else 125
        exponents = (np.arange(n) * 7919) % (2 * top) - top
        return np.ldexp(np.linspace(1.0, 2.0, n, endpoint=False), exponents).astype(dtype)
    return np.linspace(lo, hi, n).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(ALL_RANGES))
def test_each_element_gets_its_own_result_not_its_positions(name, dtype):
    """The vector body, the scalar tail and a length-1 array agree bitwise."""
    x = fixed_inputs(name, dtype, 1031)
    op = _eg(name)
    whole = op(eg.Variable(x)).numpy()
    alone = np.array([op(eg.Variable(x[i:i + 1])).numpy()[0] for i in range(0, len(x), 7)])
    assert np.array_equal(whole[::7], alone)
    for offset in (1, 3, 5):  # other alignments of the same values
        assert np.array_equal(op(eg.Variable(x[offset:])).numpy(), whole[offset:])


# The ulp bounds of Note [Same result on every CPU]. Measured maxima (2e6 points per
# range): exp 0.62, expm1 1.17, log 1.28, log1p 1.29, tanh 2.36, sigmoid 2.37,
# sin/cos 2.38 ulp in float64; every float32 function within 0.51.
# math_more.h's functions (measured maxima in that file's header):
ULP_BOUND = {
    np.float64: {"exp": 1.0, "expm1": 1.5, "log": 1.5, "log1p": 1.5, "tanh": 2.5, "sigmoid": 2.5,
                 "sin": 2.5, "cos": 2.5, "arctan": 1.5, "arcsin": 2.5, "arccos": 2.5, "sinh": 2.0,
                 "cosh": 2.0, "arctanh": 2.0, "softplus": 2.0, "log_sigmoid": 2.0, "erf": 2.0, "erfc": 4.0},
    np.float32: {name: 0.51 for name in ALL_RANGES},  # correctly rounded but in rare double roundings
}


def _mpmath_reference(name, x):
    """erf, erfc from mpmath at 80 bits (long double has no erf in NumPy)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 80
    fn = getattr(mpmath, name)
    # the mpf's value, to long double without passing through a double
    return np.array([np.longdouble(mpmath.nstr(fn(mpmath.mpf(float(v))), 25)) for v in x], dtype=np.longdouble)


def ulp_error(got, x, name):
    if name in ("erf", "erfc"):
        ref = _mpmath_reference(name, x)
        # below the normal range, ulps of the smallest subnormal's scale
        spacing = np.spacing(np.maximum(np.abs(ref), np.finfo(got.dtype).tiny).astype(got.dtype))
        return np.abs(got.astype(np.longdouble) - ref) / spacing.astype(np.longdouble)
    ref = NUMPY[name](x.astype(np.longdouble))
    spacing = np.spacing(np.abs(ref.astype(got.dtype)))
    return np.abs(got.astype(np.longdouble) - ref) / spacing.astype(np.longdouble)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(ALL_RANGES))
def test_accuracy_within_the_documented_ulp_bound(name, dtype):
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("needs an 80-bit long double for the reference")
    rng = np.random.default_rng(0)
    lo, hi = ({**RANGES, **RANGES_MORE} if dtype == np.float64 else {**RANGES32, **RANGES32_MORE})[name]
    lo, hi = max(lo, -60.0), min(hi, 60.0)  # where the reference is finite and normal
    if name == "log":
        x = np.exp(rng.uniform(-700 if dtype == np.float64 else -85, 700 if dtype == np.float64 else 85, 50000))
    elif name in ("erf", "erfc"):  # (mpmath references: fewer points)
        x = np.concatenate([rng.uniform(lo, hi, 6000), rng.uniform(-1.0, 1.0, 2000)]).astype(dtype)
    elif name in ("arcsin", "arccos", "arctanh"):  # dense near the edges too
        x = np.concatenate([rng.uniform(-1.0, 1.0, 40000), 1.0 - np.exp(rng.uniform(-36.0, 0.0, 5000)),
                            -1.0 + np.exp(rng.uniform(-36.0, 0.0, 5000))]).astype(dtype)
        x = x[np.abs(x) < 1]  # (float32 rounds some to +-1)
    else:
        x = np.concatenate([rng.uniform(lo, hi, 40000), rng.uniform(-1.0, 1.0, 10000)])
    x = x.astype(dtype)
    if name == "sigmoid":
        got = eg.sigmoid(eg.Variable(x)).numpy()
        ref = 1 / (1 + np.exp(-x.astype(np.longdouble)))
        err = np.abs(got.astype(np.longdouble) - ref) / np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble)
    else:
        err = ulp_error(_eg(name)(eg.Variable(x)).numpy(), x, name)
    worst = float(err.max())
    assert worst <= ULP_BOUND[dtype][name], f"{name} {dtype.__name__}: {worst:.3f} ulp at x={x[err.argmax()]!r}"


def fingerprint(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def results_fingerprint(dtype):
    """One fingerprint of every function's results over fixed inputs, and of sums."""
    h = hashlib.sha256()
    for name in sorted(RANGES):
        h.update(_eg(name)(eg.Variable(fixed_inputs(name, dtype))).numpy().tobytes())
    i = np.arange(100000, dtype=np.int64)
    x = (((i * 7919) % 10007) / 10007.0 - 0.4).astype(dtype)  # scattered values, exact arithmetic
    for n in (1, 7, 16, 17, 100, 2049, 5000, 100000):
        h.update(eg.sum(eg.Variable(x[:n])).numpy().tobytes())
    h.update(eg.sum(eg.Variable(x[:99990].reshape(990, 101)), axis=1).numpy().tobytes())
    return h.hexdigest()[:16]


# Recomputed (print(results_fingerprint(np.float64)) and the same for float32) only
# when a function is changed on purpose, never to make a CPU pass.
GOLDEN = {
    "float64": "f5a1853e2dea9967",
    "float32": "74dd602bb3a54694",
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_results_are_bitwise_the_same_on_every_cpu(dtype):
    assert results_fingerprint(dtype) == GOLDEN[dtype.__name__]


def more_results_fingerprint(dtype):
    h = hashlib.sha256()
    for name in sorted(RANGES_MORE):
        h.update(_eg(name)(eg.Variable(fixed_inputs(name, dtype))).numpy().tobytes())
    x, y = np.meshgrid(np.linspace(-30.0, 30.0, 101), np.linspace(-7.0, 9.0, 99))
    for name in ("logaddexp", "arctan2"):
        h.update(getattr(eg, name)(eg.Variable(x.astype(dtype)), eg.Variable(y.astype(dtype))).numpy().tobytes())
    return h.hexdigest()[:16]


GOLDEN_MORE = {
    "float64": "5ca7e710ee64e79e",
    "float32": "e762cb46939bd959",
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_more_results_are_bitwise_the_same_on_every_cpu(dtype):
    assert more_results_fingerprint(dtype) == GOLDEN_MORE[dtype.__name__]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["logaddexp", "arctan2"])
def test_binary_special_points_match_numpy(name, dtype):
    """Every pair of special points and ordinary values that meets a special point
    (+-0, +-inf, NaN, subnormal, the largest float) or is a tie x == y."""
    fi = np.finfo(dtype)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, fi.smallest_subnormal, float(fi.max), -float(fi.max)]
    pts = np.array(special + [1.0, -1.0, 2.5, -3.0, 70.0], dtype=dtype)
    x, y = (a.ravel() for a in np.meshgrid(pts, pts))
    keep = np.isin(x, pts[:len(special)]) | np.isin(y, pts[:len(special)]) | np.isnan(x) | np.isnan(y) | (x == y)
    x, y = x[keep], y[keep]
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x.astype(np.longdouble), y.astype(np.longdouble)).astype(dtype)
        if dtype == np.float64:  # NumPy's own float64 answers, where they are exact
            want = getattr(np, name)(x, y)
    for n in (1, 7, len(x)):
        for shift in (0, n // 2):
            xs, ys, ws = (np.roll(np.resize(a, n), shift) for a in (x, y, want))
            got = getattr(eg, name)(eg.Variable(xs), eg.Variable(ys)).numpy()
            # Exactly NumPy's where the answer is 0, inf, NaN or an input; an ordinary
            # value (logaddexp(0, -3)) within the documented 2 ulp.
            exact = ~np.isfinite(ws) | (ws == 0) | (ws == xs) | (ws == ys)
            with np.errstate(invalid="ignore", over="ignore"):
                close = np.abs(got.astype(np.float64) - ws) <= 2 * np.spacing(np.abs(ws)).astype(np.float64)
            bad = ~_same(got, ws) & (exact | ~close)
            assert not bad.any(), f"{name} {dtype.__name__}: x={xs[bad][:4]} y={ys[bad][:4]} got {got[bad][:4]} want {ws[bad][:4]}"


def _binary_ulp(got, ref, scale):
    """|got - ref| in ulps of the larger of |ref| and `scale` (logaddexp's result
    can cancel to nearly 0, in NumPy's formula as here: its error is in ulps of the
    larger of the terms max(x, y) and log1p(exp(-|x - y|)))."""
    big = np.maximum(np.abs(ref), scale)
    return np.abs(got.astype(np.longdouble) - ref) / np.spacing(big.astype(got.dtype)).astype(np.longdouble)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_binary_accuracy(dtype):
    if np.finfo(np.longdouble).nmant < 63:
        pytest.skip("needs an 80-bit long double for the reference")
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-40, 40, 30000), rng.standard_normal(30000)]).astype(dtype)
    y = np.concatenate([rng.uniform(-40, 40, 30000), rng.standard_normal(30000)]).astype(dtype)
    xl, yl = x.astype(np.longdouble), y.astype(np.longdouble)
    term = np.log1p(np.exp(-np.abs(xl - yl)))
    ref = np.maximum(xl, yl) + term
    got = eg.logaddexp(eg.Variable(x), eg.Variable(y)).numpy()
    bound = 2.0 if dtype == np.float64 else 0.51
    worst = _binary_ulp(got, ref, np.maximum(np.maximum(np.abs(xl), np.abs(yl)), term)).max()
    assert worst <= bound, f"logaddexp {dtype.__name__}: {float(worst):.3f} ulp of its largest term"
    got = eg.arctan2(eg.Variable(x), eg.Variable(y)).numpy()
    worst = _binary_ulp(got, np.arctan2(xl, yl), 0.0).max()
    assert worst <= (2.0 if dtype == np.float64 else 0.51), f"arctan2 {dtype.__name__}: {float(worst):.3f} ulp"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_sum_is_accurate(dtype):
    # (Its order, the same on every CPU, is pinned by the fingerprint test above.)
    rng = np.random.default_rng(1)
    for n in (1, 15, 16, 17, 2048, 2049, 10 ** 5):
        x = rng.standard_normal(n).astype(dtype)
        got = float(eg.sum(eg.Variable(x)).numpy())
        exact = float(np.sum(x.astype(np.longdouble)))
        # pairwise summation: error ~ log2(n) eps sum|x|
        bound = 4 * np.log2(n + 1) * np.finfo(dtype).eps * float(np.abs(x).sum())
        assert abs(got - exact) <= bound
