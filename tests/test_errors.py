"""Bad input raises a typed Python exception naming the op and the shapes or
dtypes; nothing crashes."""

import numpy as np
import pytest

import eigengrad as eg


def v(*shape):
    return eg.Variable(np.ones(shape))


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(2, 3\).*\(4,\)"):
        v(2, 3) + v(4)
    with pytest.raises(ValueError, match="mul"):
        eg.mul(np.ones((2, 3)), np.ones(2))


def test_matmul_inner_dimension_mismatch():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        v(2, 3) @ v(4, 5)
    with pytest.raises(ValueError, match="matmul"):
        eg.matmul(v(3), v(4))
    with pytest.raises(ValueError, match="matmul"):
        eg.matmul(v(2, 2, 3), v(3, 3, 4))  # batch dimensions do not broadcast
    with pytest.raises(ValueError, match="matmul"):
        eg.matmul(v(), v(3))


@pytest.mark.parametrize("axis", [2, -3, 100, (0, 0)])
def test_axis_out_of_range_or_repeated(axis):
    with pytest.raises((ValueError, IndexError), match="sum"):
        eg.sum(v(2, 3), axis=axis)


def test_axis_errors_of_other_ops_name_the_op():
    with pytest.raises(IndexError, match="softmax"):
        eg.softmax(v(2, 3), axis=2)
    with pytest.raises(IndexError, match="concatenate"):
        eg.concatenate([v(2), v(2)], axis=1)
    with pytest.raises(IndexError, match="transpose"):
        eg.transpose(v(2, 3), (0, 5))


@pytest.mark.parametrize(
    "data", [np.array([1 + 2j]), np.array(["a"]), np.array([object()], dtype=object), "text"]
)
def test_unsupported_array_dtypes_are_type_errors(data):
    with pytest.raises(TypeError, match="Variable"):
        eg.Variable(data)


def test_non_float_dtype_argument_is_a_type_error():
    with pytest.raises(TypeError, match="float32 or float64"):
        eg.Variable([1, 2], dtype=np.int32)
    with pytest.raises(TypeError, match="astype"):
        v(2).astype("int64")


def test_backward_of_non_scalar_without_grad():
    x = eg.Variable(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward.*\(3,\)"):
        (x * 2.0).backward()


def test_backward_with_grad_of_the_wrong_shape():
    x = eg.Variable(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: grad has shape \(2,\).*\(3,\)"):
        (x * 2.0).backward(np.ones(2))


def test_backward_of_a_constant():
    with pytest.raises(RuntimeError, match="does not require grad"):
        v(1).backward()


def test_reshape_and_broadcast_to_mismatch():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        v(2, 3).reshape(4)
    with pytest.raises(ValueError, match="broadcast_to"):
        eg.broadcast_to(v(3), (2, 4))


def test_indexing_out_of_range():
    with pytest.raises(IndexError, match="out of bounds"):
        v(3)[3]
    with pytest.raises(IndexError, match="out of bounds"):
        v(3)[[0, 5]]
    with pytest.raises(IndexError, match="too many indices"):
        v(3)[0, 0]
    with pytest.raises(IndexError, match="take"):
        eg.take(v(3), [4])


def test_reductions_of_empty_arrays_without_identity():
    with pytest.raises(ValueError, match="max: zero-size"):
        eg.max(v(0))
    assert eg.sum(v(0)).item() == 0.0


def test_concatenate_and_stack_shape_checks():
    with pytest.raises(ValueError, match="concatenate"):
        eg.concatenate([v(2, 3), v(3, 2)], axis=0)
    with pytest.raises(ValueError, match="concatenate: need at least one"):
        eg.concatenate([])
    with pytest.raises(ValueError, match="stack"):
        eg.stack([v(2), v(3)])


def test_huge_allocation_is_a_memory_error_not_a_crash():
    with pytest.raises(MemoryError):
        eg.broadcast_to(v(1), (2**40, 2**30))


def test_item_of_many_elements():
    with pytest.raises(ValueError, match="item"):
        v(3).item()


def test_clip_rejects_array_bounds():
    with pytest.raises(TypeError, match="clip"):
        eg.clip(v(3), np.zeros(3), 1.0)
