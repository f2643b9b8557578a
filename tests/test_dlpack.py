"""DLPack exchange with NumPy and PyTorch: zero-copy both ways, capsule versions, lifetimes."""

import gc
import importlib.util

import numpy as np
import pytest

import eigengrad as eg

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="needs PyTorch as the other side (pip install torch)")


def shares(a, b):
    return np.shares_memory(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4), (0, 5)])
def test_numpy_takes_a_variable_without_copy_and_back(dtype, shape):
    v = eg.Variable(np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape))
    a = np.from_dlpack(v)
    assert a.dtype == dtype and a.shape == shape and (a.size == 0 or shares(a, v))
    back = eg.from_dlpack(a)
    assert back.dtype == dtype and back.shape == shape and (a.size == 0 or shares(back, v))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(v))


def test_versioned_and_legacy_capsules():
    v = eg.Variable(np.arange(4.0))
    assert "dltensor_versioned" in repr(v.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(v.__dlpack__())  # legacy: what JAX asks for (stream=None only)
    assert '"dltensor"' in repr(v.__dlpack__(stream=None))
    assert v.__dlpack_device__() == (1, 0)
    # A bare capsule is accepted too. A versioned one says the memory is writable:
    # shared. A legacy one cannot say, so NumPy reads it as read-only: copied.
    assert shares(eg.from_dlpack(v.__dlpack__(max_version=(1, 0))), v)
    legacy = eg.from_dlpack(v.__dlpack__())
    assert not shares(legacy, v)
    np.testing.assert_array_equal(np.asarray(legacy), np.asarray(v))


def test_copy_keyword_both_ways():
    v = eg.Variable(np.arange(3.0))
    assert not shares(np.from_dlpack(v, copy=True), v)
    assert shares(np.from_dlpack(v, copy=False), v)
    assert not shares(eg.from_dlpack(v, copy=True), v)
    a = np.arange(6.0).reshape(2, 3).T  # strided: eigengrad copies it
    assert not shares(eg.from_dlpack(a), a)
    with pytest.raises(ValueError, match="copy=False, but eigengrad cannot share this memory .*strided"):
        eg.from_dlpack(a, copy=False)


def test_an_import_shares_the_version_counter_of_its_memory():
    a = np.zeros(3)
    v = eg.Variable(a, requires_grad=True)
    w = eg.from_dlpack(a)  # the same memory as v: one counter
    u = eg.from_dlpack(v)
    y = (v * v).sum()  # saves v
    w += 1.0
    assert u._version == w._version == v._version
    with pytest.raises(RuntimeError, match="was modified in place"):
        y.backward()


def test_read_only_memory_is_copied_not_written():
    a = np.arange(3.0)
    a.flags.writeable = False
    w = eg.from_dlpack(a)
    assert not shares(w, a)
    with pytest.raises(ValueError, match="read-only"):
        eg.from_dlpack(a, copy=False)


def test_the_producer_stays_alive_as_long_as_the_consumer():
    v = eg.Variable(np.arange(1000.0) * 2)
    a = np.from_dlpack(v)
    del v
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(1000.0) * 2)  # the buffer is still there (ASan run: no use after free)
    b = np.arange(1000.0) * 3
    w = eg.from_dlpack(b)
    del b
    gc.collect()
    np.testing.assert_array_equal(np.asarray(w), np.arange(1000.0) * 3)


def test_bad_input_names_the_problem():
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__ .* got list"):
        eg.from_dlpack([1.0, 2.0])

    class OnGpu:
        def __dlpack__(self, **kwargs):
            raise AssertionError("not reached")

        def __dlpack_device__(self):
            return (2, 1)

    with pytest.raises(BufferError, match="eigengrad computes on the CPU; this OnGpu is on CUDA .device 1."):
        eg.from_dlpack(OnGpu())
    with pytest.raises(BufferError):
        eg.Variable(np.ones(2)).__dlpack__(dl_device=(2, 0))


def test_requires_grad_and_other_dtypes():
    w = eg.from_dlpack(np.ones(3, dtype=np.float32), requires_grad=True)
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2, 2, 2])
    i = eg.from_dlpack(np.arange(3))  # int64: converted (a copy), as eg.Variable does
    assert i.dtype == "float64"


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_takes_a_variable_without_copy_and_back(dtype):
    import torch

    v = eg.Variable(np.arange(12, dtype=dtype).reshape(3, 4))
    t = torch.from_dlpack(v)
    assert t.dtype == getattr(torch, dtype) and tuple(t.shape) == (3, 4)
    assert t.data_ptr() == np.asarray(v).ctypes.data
    w = eg.from_dlpack(t)
    assert np.asarray(w).ctypes.data == t.data_ptr()
    t.add_(1)  # writes through torch are seen by both
    np.testing.assert_array_equal(np.asarray(v), np.arange(12).reshape(3, 4) + 1)
    np.testing.assert_array_equal(np.asarray(w), np.arange(12).reshape(3, 4) + 1)
    del t
    gc.collect()
    np.testing.assert_array_equal(np.asarray(w), np.arange(12).reshape(3, 4) + 1)  # kept alive by w


@needs_torch
def test_torch_strided_zero_size_and_grad_tensors():
    import torch

    t = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).t()  # strided: copied
    w = eg.from_dlpack(t)
    np.testing.assert_array_equal(np.asarray(w), t.numpy())
    z = eg.from_dlpack(torch.zeros(0, 3))
    assert z.shape == (0, 3)
    g = torch.ones(2, requires_grad=True)
    np.testing.assert_array_equal(np.asarray(eg.from_dlpack(g.detach())), [1, 1])


needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX as the other side (pip install jax)")


@needs_jax
def test_jax_takes_a_variable_without_copy_and_gives_back_a_copy():
    import jax.numpy as jnp

    v = eg.exp(eg.Variable(np.zeros((4, 16), dtype=np.float32)))  # eigengrad's buffers are 64-byte aligned
    j = jnp.from_dlpack(v)  # JAX asks for a legacy capsule (stream=None)
    assert j.unsafe_buffer_pointer() == np.asarray(v).ctypes.data  # no copy
    w = eg.from_dlpack(j)  # JAX's legacy capsule reads as read-only: copied, never written
    assert not shares(w, v)
    np.testing.assert_array_equal(np.asarray(w), np.ones((4, 16), np.float32))
