"""pickle, copy.copy and copy.deepcopy of Variables, Parameters and Modules
(Note [Pickling Variables] in python/eigengrad/_variable.py)."""

import copy
import pickle

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Parameter

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)
VALUES = {
    "float32 2-d": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
    "float64 3-d": np.linspace(-1, 1, 24).reshape(2, 3, 4),
    "0-d": np.array(3.25),
    "zero-size": np.zeros((0, 3), np.float32),
    "non-contiguous": np.arange(12.0).reshape(3, 4)[:, ::2],
    "specials": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
}


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes()  # bitwise: NaN, -0 and subnormals included


def shares_memory(a, b):
    return np.shares_memory(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("name", list(VALUES))
@pytest.mark.parametrize("requires_grad", [False, True])
def test_variable_round_trip(name, protocol, requires_grad):
    source = VALUES[name].copy() if name != "non-contiguous" else VALUES[name]
    v = eg.Variable(source, requires_grad=requires_grad)
    w = pickle.loads(pickle.dumps(v, protocol=protocol))
    assert type(w) is eg.Variable and w.requires_grad == requires_grad and w.is_leaf
    same(w, v)
    assert not shares_memory(w, v) or v.size == 0
    np.asarray(w)[...] = 1  # writable, its own
    same(v, source)


def test_unpickled_variable_owns_its_memory_with_out_of_band_buffers():
    source = np.arange(4.0)
    v = eg.Variable(source)  # borrows source's memory
    buffers = []
    data = pickle.dumps(v, protocol=5, buffer_callback=buffers.append)
    w = pickle.loads(data, buffers=buffers)  # buffers that view source's memory
    same(w, v)
    assert not shares_memory(w, source)


def test_parameter_keeps_its_class_and_attributes():
    p = Parameter(np.ones((2, 2), np.float32))
    p.tag = "embedding"
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p), copy.copy(p)):
        assert type(q) is Parameter and q.requires_grad and q.tag == "embedding"
        same(q, p)
        assert not shares_memory(q, p)
    frozen = Parameter(np.ones(2), requires_grad=False)
    assert not pickle.loads(pickle.dumps(frozen)).requires_grad


def test_grad_is_copied_by_copy_not_by_pickle():
    v = eg.Variable(np.arange(3.0), requires_grad=True)
    (v * v).sum().backward()
    assert pickle.loads(pickle.dumps(v)).grad is None
    for w in (copy.deepcopy(v), copy.copy(v)):
        same(w.grad, v.grad)
        assert not shares_memory(w.grad, v.grad)
    assert copy.deepcopy(eg.Variable(np.ones(2))).grad is None


def test_non_leaf_pickles_as_a_leaf_and_refuses_copy():
    x = eg.Variable(np.arange(3.0), requires_grad=True)
    y = eg.exp(x)
    z = pickle.loads(pickle.dumps(y))
    assert z.is_leaf and z.requires_grad and z.grad_fn is None
    same(z, y)
    for fn, name in ((copy.deepcopy, "deepcopy"), (copy.copy, "copy")):
        with pytest.raises(RuntimeError, match=rf"copy.{name}: the Variable \(shape \(3,\), float64\) was computed "
                                               r"by exp.*x.detach\(\)"):
            fn(y)
    same(copy.deepcopy(y.detach()), y)


def test_copies_are_independent_of_the_original():
    v = eg.Variable(np.arange(3.0))
    w = copy.deepcopy(v)
    with eg.no_grad():
        v += 1
    same(w, np.arange(3.0))
    assert w._version == 0


def mlp():
    return eg.nn.MLP([4, 8, 3], activation="tanh", dtype="float32", generator=0)


def test_module_pickle_and_deepcopy_give_the_same_function():
    net = mlp()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert repr(other) == repr(net)
        assert [n for n, _ in other.named_parameters()] == [n for n, _ in net.named_parameters()]
        for (_, p), (_, q) in zip(net.named_parameters(), other.named_parameters()):
            assert type(q) is Parameter and q.requires_grad
            same(q, p)
            assert not shares_memory(q, p)
        same(other(x), net(x))
        # Training the copy leaves the original alone.
        opt = eg.optim.SGD(other.parameters(), lr=0.1)
        other(x).sum().backward()
        opt.step()
        assert not np.array_equal(np.asarray(other[0].weight), np.asarray(net[0].weight))
    assert all(p.grad is None for p in net.parameters())


def test_deepcopy_keeps_shared_parameters_shared():
    first, second = eg.nn.Linear(3, 3, generator=0), eg.nn.Linear(3, 3, generator=1)
    second.weight = first.weight  # tied weights
    net = eg.nn.Sequential(first, second, first)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other[0] is other[2]
        assert other[1].weight is other[0].weight
        assert len(list(other.parameters())) == len(list(net.parameters())) == 3


def test_module_copy_is_shallow():
    net = mlp()
    other = copy.copy(net)
    assert other is not net and other[0] is net[0] and other[0].weight is net[0].weight
    other.append(eg.nn.ReLU())
    assert len(other) == len(net) + 1


def test_module_train_mode_and_buffers_survive():
    net = mlp().eval()
    net.register_buffer("scale", np.array([2.0]))
    other = pickle.loads(pickle.dumps(net))
    assert not other.training and not other[0].training
    same(other.scale, net.scale)
    assert "scale" in other.state_dict()


def test_dropout_keeps_drawing_from_its_stream():
    shared = eg.nn.Dropout(0.5)  # the shared eg.random stream
    own = eg.nn.Dropout(0.5, generator=7)
    for copier in (copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))):
        assert copier(shared).generator is eg.random._default
        twin = copier(own)
        assert twin.generator is not own.generator  # a stream of its own, in the same state
        x = eg.ones(100)
        same(twin(x), own(x))


def test_dual_variable_pickles_without_its_tangent():
    with eg._core.ForwardLevel() as level:
        x = eg._core.make_dual(eg.Variable(np.ones(2)), eg.Variable(np.ones(2)), level)
        y = pickle.loads(pickle.dumps(x))
        assert eg._core.tangent(y, level) is None
        same(y, x)
