"""Module bookkeeping: registration, traversal, modes, gradients, state and repr."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Linear, Module, Parameter, ReLU, Sequential


class Block(Module):
    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(3))
        self.inner = Sequential(Linear(3, 4, generator=0), ReLU(), Linear(4, 2, generator=1))
        self.register_buffer("count", np.zeros(1))
        self.note = "not registered"

    def forward(self, x):
        return self.inner(x * self.scale)


def test_parameters_are_registered_in_order_with_dotted_names():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "inner.0.weight", "inner.0.bias", "inner.2.weight", "inner.2.bias"]
    assert all(isinstance(p, Parameter) and p.requires_grad and p.is_leaf for p in block.parameters())
    assert block.num_parameters() == 3 + 4 * 3 + 4 + 2 * 4 + 2
    assert [name for name, _ in block.named_buffers()] == ["count"]
    assert block.note == "not registered"


def test_children_and_modules():
    block = Block()
    assert list(block.children()) == [block.inner]
    assert [name for name, _ in block.named_modules()] == ["", "inner", "inner.0", "inner.1", "inner.2"]
    visited = []
    block.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Block" and len(visited) == 5


def test_shared_parameter_is_listed_once():
    layer = Linear(2, 2, generator=0)
    model = Sequential(layer, layer)
    assert len(list(model.parameters())) == 2


def test_reassigning_replaces_and_plain_values_unregister():
    block = Block()
    block.scale = Parameter(np.zeros(3))
    assert np.all(np.asarray(block.scale) == 0)
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    assert block.scale is None


def test_setattr_before_init_is_an_error():
    class Forgetful(Module):
        def __init__(self):
            self.w = Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgetful()


def test_train_eval_propagate():
    block = Block()
    assert block.training and block.inner[0].training
    assert block.eval() is block
    assert not any(m.training for m in block.modules())
    block.train()
    assert all(m.training for m in block.modules())


def test_zero_grad():
    block = Block()
    block(np.ones((5, 3))).sum().backward()
    assert all(p.grad is not None for p in block.parameters())
    block.zero_grad(set_to_none=False)
    assert all(np.all(np.asarray(p.grad) == 0) for p in block.parameters())
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_state_dict_is_a_copy_and_load_is_in_place():
    block = Block()
    state = block.state_dict()
    assert list(state) == ["scale", "inner.0.weight", "inner.0.bias", "inner.2.weight", "inner.2.bias", "count"]
    weight = block.inner[0].weight
    np.asarray(weight)[...] = 5.0
    assert not np.all(np.asarray(state["inner.0.weight"]) == 5.0)  # a copy, not a view
    assert block.load_state_dict(state) == ([], [])
    assert block.inner[0].weight is weight  # loaded in place
    np.testing.assert_array_equal(np.asarray(weight), np.asarray(state["inner.0.weight"]))


def test_state_dict_round_trip_through_save_and_load(tmp_path):
    source, target = Block(), Block()
    for p in target.parameters():
        np.asarray(p)[...] = 0.0
    path = tmp_path / "block.npz"
    eg.save(source.state_dict(), path)
    target.load_state_dict(eg.load(path))
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_array_equal(np.asarray(source(x)), np.asarray(target(x)))


def test_load_state_dict_checks_names_and_shapes():
    block = Block()
    state = block.state_dict()
    wrong = dict(state)
    wrong["inner.0.weight"] = np.zeros((3, 4))
    before = np.asarray(block.scale).copy()
    wrong["scale"] = np.full(3, 7.0)
    with pytest.raises(ValueError, match=r"inner.0.weight.*\(3, 4\).*\(4, 3\)"):
        block.load_state_dict(wrong)
    np.testing.assert_array_equal(np.asarray(block.scale), before)  # nothing changed
    partial = dict(state)
    del partial["count"]
    partial["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match="missing keys \\['count'\\].*unexpected keys \\['extra'\\]"):
        block.load_state_dict(partial)
    assert block.load_state_dict(partial, strict=False) == (["count"], ["extra"])


def test_load_state_dict_converts_dtype():
    layer = Linear(2, 3, dtype="float32", generator=0)
    state = {k: np.asarray(v, np.float64) + 1 for k, v in layer.state_dict().items()}
    layer.load_state_dict(state)
    assert layer.weight.dtype == np.float32
    np.testing.assert_allclose(np.asarray(layer.weight), state["weight"], rtol=1e-6)


def test_repr():
    text = repr(Block())
    assert text == (
        "Block(\n"
        "  (inner): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=4, out_features=2, bias=True)\n"
        "  )\n"
        ")"
    )
    assert repr(eg.nn.MLP([2, 3], generator=0)) == "MLP(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n)"
    assert repr(Parameter(np.zeros(2))).startswith("Parameter containing:\nVariable(")


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        Module()(1)


def test_a_failing_load_state_dict_leaves_the_module_unchanged():
    model = eg.nn.MLP([3, 4, 2], generator=0)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = model.state_dict()
    names = list(state)
    state[names[0]] = np.zeros_like(before[names[0]])       # a valid entry first
    state[names[-1]] = np.array(["x"] * before[names[-1]].size).reshape(before[names[-1]].shape)
    with pytest.raises(TypeError, match=names[-1]):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
