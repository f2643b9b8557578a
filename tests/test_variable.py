"""Variables and NumPy: zero copy, conversions, dtype promotion, constructors."""

import numpy as np
import pytest

import eigengrad as eg


def test_contiguous_float_arrays_are_shared_both_ways():
    for dtype in (np.float32, np.float64):
        a = np.arange(6, dtype=dtype).reshape(2, 3)
        x = eg.Variable(a)
        assert np.shares_memory(x.numpy(), a)
        assert np.shares_memory(np.asarray(x), a)
        a[0, 0] = 42.0
        assert x.numpy()[0, 0] == 42.0


def test_the_array_outlives_its_python_name():
    x = eg.Variable(np.arange(4.0))
    view = x.numpy()
    del x
    np.testing.assert_array_equal(view, np.arange(4.0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(12.0).reshape(3, 4).T,  # non-contiguous
        lambda: np.arange(6.0)[::-1],  # negative stride
        lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        lambda: np.arange(6.0).reshape(2, 3)[:, ::2],
        lambda: np.arange(4.0).astype(">f8"),  # big-endian
    ],
)
def test_other_layouts_are_converted_with_the_same_values(make):
    a = make()
    x = eg.Variable(a)
    assert x.shape == a.shape and x.dtype == np.float64
    np.testing.assert_array_equal(x.numpy(), a)


def test_integer_and_bool_inputs_become_float64_or_the_given_dtype():
    assert eg.Variable(np.arange(3)).dtype == np.float64
    assert eg.Variable([True, False]).dtype == np.float64
    assert eg.Variable(np.arange(3), dtype="float32").dtype == np.float32
    assert eg.Variable(np.float16(1.5)).dtype == np.float32
    assert eg.Variable(3.0).shape == ()


def test_read_only_arrays_are_copied():
    a = np.arange(3.0)
    a.flags.writeable = False
    x = eg.Variable(a)
    assert not np.shares_memory(x.numpy(), a)


def test_weak_python_scalars_keep_the_variable_dtype():
    x = eg.Variable(np.ones(2, dtype=np.float32))
    for y in (x * 2.0, 2.0 * x, x + 1, 1 - x, x / 3.0, 2.0 / x, x**2, 2**x):
        assert y.dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float64  # NumPy scalars are not weak
    assert (x + np.ones(2)).dtype == np.float64
    assert (x + np.ones(2, dtype=np.float32)).dtype == np.float32


def test_reused_scalar_constants_keep_their_value_sign_and_dtype():
    # Note [Weak scalar constants]: the 0-d constants made for Python numbers are
    # cached per thread by value bits and dtype; each use must still see its own.
    x32 = eg.Variable(np.ones(2, dtype=np.float32))
    x64 = eg.Variable(np.ones(2))
    for _ in range(2):
        np.testing.assert_array_equal((x32 * 0.1).numpy(), np.ones(2, np.float32) * np.float32(0.1))
        np.testing.assert_array_equal((x64 * 0.1).numpy(), np.ones(2) * 0.1)
        assert np.signbit((x64 * -0.0).numpy()).all() and not np.signbit((x64 * 0.0).numpy()).any()
        assert np.isnan((x64 * float("nan")).numpy()).all()
    # Many distinct constants (more than the cache holds), each used by a live graph.
    w = eg.Variable(np.ones(3), requires_grad=True)
    ys = [w * float(k) for k in range(100)]
    sum(y.sum() for y in ys).backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, sum(range(100))))
    for k, y in enumerate(ys):
        np.testing.assert_array_equal(y.numpy(), np.full(3, float(k)))


def test_operators_with_arrays_on_either_side_return_variables():
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    a = np.array([3.0, 4.0])
    for y, expected in [(a + x, a + 1 * np.array([1.0, 2.0])), (a * x, a * [1.0, 2.0]),
                        (a - x, a - [1.0, 2.0]), (a / x, a / [1.0, 2.0]), (a @ x, a @ [1.0, 2.0])]:
        assert isinstance(y, eg.Variable) and y.requires_grad
        np.testing.assert_allclose(y.numpy(), expected)
    y = -x
    np.testing.assert_array_equal(y.numpy(), [-1.0, -2.0])


def test_properties_and_conversions():
    x = eg.Variable(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert x.transpose().shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert eg.Variable(2.5).item() == 2.5 and float(eg.Variable([2.5])) == 2.5
    assert "Variable(" in repr(x) and "float64" in repr(x)
    assert np.array_equal(x > 2.0, np.arange(6.0).reshape(2, 3) > 2.0)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32


def test_constructors():
    assert eg.zeros((2, 3)).shape == (2, 3) and eg.zeros(3).numpy().sum() == 0
    assert eg.ones(4, dtype="float32").dtype == np.float32
    np.testing.assert_array_equal(eg.full((2,), 7.0).numpy(), [7.0, 7.0])
    np.testing.assert_array_equal(eg.arange(3).numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(eg.arange(1, 2, 0.5).numpy(), [1.0, 1.5])
    np.testing.assert_array_equal(eg.eye(2).numpy(), np.eye(2))
    assert eg.zeros(2, requires_grad=True).requires_grad
    assert eg.arange(3).dtype == np.float64


def test_random_is_seedable():
    eg.random.seed(123)
    a = eg.random.randn(3, 2).numpy().copy()
    eg.random.seed(123)
    b = eg.random.randn(3, 2).numpy()
    np.testing.assert_array_equal(a, b)
    g = eg.random.Generator(5)
    assert g.rand(4).shape == (4,) and g.normal(size=(2, 2), dtype="float32").dtype == np.float32
    assert eg.random.uniform(-1, 1, size=10).numpy().max() < 1


def test_indexing_matches_numpy():
    a = np.arange(60.0).reshape(3, 4, 5)
    x = eg.Variable(a)
    keys = [0, -1, (1, 2), (slice(None), 1), (Ellipsis, 2), (None, 0), (slice(1, None, 2),),
            (slice(None, None, -1), slice(0, 3)), [0, 2], ([0, 1], [1, 3]), (slice(None), [0, 0, 3]),
            ([0, 2], slice(None), [1, 4]), (a[:, :, 0] > 20,), (1, [0, 1], slice(2, 4)),
            (np.array([[0, 1], [2, 0]]),), (slice(5, 10),), ([],)]
    for key in keys:
        np.testing.assert_array_equal(x[key].numpy(), a[key], err_msg=str(key))


def test_indexing_is_differentiable():
    a = np.arange(12.0).reshape(3, 4)
    assert eg.gradcheck(lambda x: x[1:, ::2] * x[[0, 0], [1, 1]], a)
    x = eg.Variable(a, requires_grad=True)
    x[[0, 0, 2], 1].sum().backward()
    expected = np.zeros((3, 4))
    expected[0, 1], expected[2, 1] = 2.0, 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("op", [eg.sqrt, eg.exp, eg.sin, eg.cos, eg.log1p, eg.expm1, eg.tanh, eg.sigmoid])
def test_results_do_not_depend_on_where_the_input_sits_in_memory(op):
    x = np.random.default_rng(0).uniform(0.5, 2.0, 64).astype(np.float32)

    def at(offset):
        buffer = np.empty(80, np.float32)
        view = buffer[offset : offset + 64]
        view[...] = x
        return op(eg.Variable(view)).numpy()

    reference = at(0)
    for offset in range(1, 16):
        np.testing.assert_array_equal(at(offset), reference)
    if op is eg.sqrt:
        np.testing.assert_array_equal(reference, np.sqrt(x))  # correctly rounded


# ---- sequences of Variables stay in the graph (issue 10, class 6) ---------------------


def test_ops_stack_lists_and_tuples_of_variables_differentiably():
    a = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    b = eg.Variable(np.array([3.0, 5.0]), requires_grad=True)
    m = eg.mean([a * 2.0, b])
    m.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(b.grad.numpy(), [0.25, 0.25])
    nested = eg.sum([[a, b], (b, 1.0 * a)])
    assert nested.requires_grad and nested.item() == 22.0
    assert (a + [b, b]).shape == (2, 2) and (a + [b, b]).requires_grad
    assert eg.exp((a[0], 1.0)).requires_grad  # numbers join at the Variables' dtype


def test_variable_of_a_sequence_of_variables_that_require_grad_raises():
    a = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match=r"eg\.stack"):
        eg.Variable([a, a])
    plain = eg.Variable([eg.Variable(np.ones(2)), np.zeros(2)])  # nothing to lose: values
    np.testing.assert_array_equal(plain.numpy(), [[1, 1], [0, 0]])


def test_ragged_sequences_of_variables_raise_naming_the_op():
    with pytest.raises(ValueError, match="mean: a sequence of Variables must hold entries of one shape"):
        eg.mean([eg.Variable(np.ones(2)), eg.Variable(np.ones(3))])


def test_loss_targets_given_as_lists_of_variables_stay_differentiable():
    t = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    eg.nn.mse_loss(eg.Variable(np.zeros(2)), [t[0], t[1]]).backward()
    np.testing.assert_allclose(t.grad.numpy(), [1.0, 2.0])


# ---- NumPy's answers (issue 10, class 10) ---------------------------------------------


def test_python_ints_beyond_float64_raise_overflow_error_as_numpy():
    x = eg.Variable(np.ones(3))
    with pytest.raises(OverflowError, match="mul: Python int too large to convert to float"):
        x * 2**1100
    with pytest.raises(OverflowError):
        np.ones(3) * 2**1100  # NumPy's answer too
    np.testing.assert_array_equal((x * 2**64).numpy(), np.ones(3) * 2**64)


@pytest.mark.parametrize("int_dtype", [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64])
def test_float32_with_integer_arrays_promotes_as_numpy_2(int_dtype):
    f = np.ones(3, np.float32)
    i = np.ones(3, int_dtype)
    want = (f * i).dtype
    assert (eg.Variable(f) * i).dtype == want
    assert (i * eg.Variable(f)).dtype == want
    assert eg.mul(f, i).dtype == want
    assert eg.maximum(eg.Variable(f), int_dtype(1)).dtype == np.result_type(f, int_dtype(1))


@pytest.mark.parametrize("key", [np.s_[0:0], np.s_[[]], np.s_[np.array([], dtype=int)], np.s_[:, [0, 1]],
                                 np.s_[..., [2]], np.s_[[], :]])
def test_zero_size_indexing_gives_numpys_shapes(key):
    a = np.zeros((0, 3))
    assert eg.Variable(a)[key].shape == a[key].shape
    x = eg.Variable(np.ones((2, 3)), requires_grad=True)
    if np.ones((2, 3))[key].size == 0:
        x[key].sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))
