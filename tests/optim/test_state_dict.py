"""Optimizer and schedule state_dicts: a run resumed from them continues bit for bit,
their layout is PyTorch's, and bad states raise naming the mismatch."""

import pickle

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Parameter

OPTIMIZERS = {
    "sgd": lambda ps: eg.optim.SGD(ps, lr=0.05),
    "sgd-momentum": lambda ps: eg.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
    "sgd-nesterov": lambda ps: eg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: eg.optim.Adam(ps, lr=1e-2),
    "adam-amsgrad": lambda ps: eg.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adamw": lambda ps: eg.optim.AdamW(ps, lr=1e-2),
}


def data(dtype):
    rng = np.random.default_rng(0)
    return rng.standard_normal((32, 6)).astype(dtype), rng.integers(0, 3, 32)


def model(dtype):
    return eg.nn.MLP([6, 16, 3], activation="tanh", dtype=dtype, generator=1)


def train(net, opt, schedule, steps, X, y, start=0):
    for k in range(start, start + steps):
        rows = slice(8 * (k % 4), 8 * (k % 4) + 8)
        loss = eg.nn.cross_entropy(net(X[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if schedule is not None:
            schedule.step()


def params_of(net):
    return [np.array(p) for p in net.parameters()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_resume_is_bit_for_bit(kind, dtype, tmp_path):
    X, y = data(dtype)
    # The uninterrupted run: 5 + 7 steps.
    net = model(dtype)
    opt = OPTIMIZERS[kind](net.parameters())
    schedule = eg.optim.StepLR(opt, step_size=3, gamma=0.5)
    train(net, opt, schedule, 5, X, y)
    eg.save(net.state_dict(), tmp_path / "model.npz")
    saved = pickle.dumps({"optimizer": opt.state_dict(), "schedule": schedule.state_dict()})
    train(net, opt, schedule, 7, X, y, start=5)
    # Fresh objects (other initial weights) loaded from the files, then the same 7 steps.
    net2 = eg.nn.MLP([6, 16, 3], activation="tanh", dtype=dtype, generator=2)
    net2.load_state_dict(eg.load(tmp_path / "model.npz"))
    opt2 = OPTIMIZERS[kind](net2.parameters())
    schedule2 = eg.optim.StepLR(opt2, step_size=3, gamma=0.5)
    state = pickle.loads(saved)
    opt2.load_state_dict(state["optimizer"])
    schedule2.load_state_dict(state["schedule"])
    train(net2, opt2, schedule2, 7, X, y, start=5)
    for a, b in zip(params_of(net), params_of(net2)):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_layout_and_copies():
    w, b = Parameter(np.ones((2, 3))), Parameter(np.zeros(2))
    opt = eg.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    w.grad = np.ones((2, 3))
    opt.step()  # b has no gradient: no state
    state = opt.state_dict()
    assert state["optimizer"] == "Adam"
    assert list(state["state"]) == [0]
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["state"][0]["step"] == 1
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5 and state["param_groups"][0]["betas"] == (0.9, 0.999)
    m = state["state"][0]["exp_avg"].copy()
    w.grad = np.ones((2, 3))
    opt.step()
    np.testing.assert_array_equal(state["state"][0]["exp_avg"], m)  # a copy
    state["state"][0]["exp_avg"][:] = 7  # and writing it changes nothing
    assert not np.any(opt.state[w]["exp_avg"] == 7)


def test_load_sets_hyperparameters_and_groups_in_place():
    w = Parameter(np.ones(3))
    opt = eg.optim.SGD([w], lr=0.1, momentum=0.9)
    schedule = eg.optim.ExponentialLR(opt, gamma=0.5)
    group = opt.param_groups[0]
    other = eg.optim.SGD([Parameter(np.ones(3))], lr=0.1, momentum=0.5)
    eg.optim.ExponentialLR(other, gamma=0.5).step()  # other's group has lr 0.05, initial_lr 0.1
    opt.load_state_dict(other.state_dict())
    assert opt.param_groups[0] is group and group["params"] == [w]
    assert group["lr"] == 0.05 and group["momentum"] == 0.5 and group["initial_lr"] == 0.1
    w.grad = np.ones(3)
    opt.step()
    np.testing.assert_allclose(np.asarray(w), 1 - 0.05)
    schedule.step()
    assert group["lr"] == 0.05


def test_state_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the oracle for the state values")
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(4)]
    w = Parameter(w0.copy())
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt = eg.optim.Adam([w], lr=1e-2, amsgrad=True)
    topt = torch.optim.Adam([tw], lr=1e-2, amsgrad=True)
    for g in grads:
        w.grad = g
        opt.step()
        tw.grad = torch.tensor(g)
        topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours["state"][0]) == set(theirs["state"][0])
    assert ours["state"][0]["step"] == int(theirs["state"][0]["step"])
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        np.testing.assert_allclose(ours["state"][0][key], theirs["state"][0][key].numpy(), rtol=1e-12)
    ours_group, theirs_group = ours["param_groups"][0], theirs["param_groups"][0]
    assert {k: v for k, v in ours_group.items()} == {k: theirs_group[k] for k in ours_group}


def test_sgd_momentum_buffer_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the oracle for the state values")
    w = Parameter(np.ones(3))
    tw = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt, topt = eg.optim.SGD([w], lr=0.1, momentum=0.9), torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for g in ([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]):
        w.grad, tw.grad = np.array(g), torch.tensor(g, dtype=torch.float64)
        opt.step(), topt.step()
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["momentum_buffer"],
                                  topt.state_dict()["state"][0]["momentum_buffer"].numpy())


def stepped(kind="adam", shape=(2, 3), dtype="float64"):
    p = Parameter(np.ones(shape, dtype))
    opt = OPTIMIZERS[kind]([p])
    p.grad = np.ones(shape, dtype)
    opt.step()
    return opt


@pytest.mark.parametrize("source, target, match", [
    (lambda: stepped("sgd-momentum"), lambda: stepped("adam"), "the state is from SGD, this optimizer is Adam"),
    (lambda: stepped("adam"), lambda: stepped("adamw"), "the state is from Adam, this optimizer is AdamW"),
    (lambda: stepped(shape=(3, 2)), lambda: stepped(), r"exp_avg of parameter 0 has shape \(3, 2\) \(float64\); "
                                                       r"the parameter has shape \(2, 3\) \(float64\)"),
    (lambda: stepped(dtype="float32"), lambda: stepped(), r"exp_avg of parameter 0 .*\(float32\); .*\(float64\)"),
    (lambda: eg.optim.Adam([Parameter(np.ones(1)), Parameter(np.ones(1))]), lambda: stepped(),
     "parameter group 0 has 2 parameters in the state, 1 in the optimizer"),
])
def test_mismatches_raise_and_change_nothing(source, target, match):
    state, opt = source().state_dict(), target()
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key, value in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value)


def test_malformed_states_raise():
    opt = stepped()
    good = opt.state_dict()
    name = "Adam.load_state_dict"
    with pytest.raises(TypeError, match=f"{name}: expected a mapping with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="the state has 2 parameter groups, the optimizer 1"):
        opt.load_state_dict({**good, "param_groups": good["param_groups"] * 2})
    group = {k: v for k, v in good["param_groups"][0].items() if k != "betas"}
    with pytest.raises(ValueError, match=r"lacks hyperparameters \['betas'\] and has unknown ones \[\]"):
        opt.load_state_dict({**good, "param_groups": [group]})
    for entry, match in [({**good["state"][0], "momentum_buffer": None}, r"unknown entries \['momentum_buffer'\]"),
                         ({**good["state"][0], "step": -1}, "step of parameter 0 must be an integer >= 0"),
                         ({**good["state"][0], "step": 1.5}, "step of parameter 0 must be an integer >= 0"),
                         ({"step": 2}, "parameter 0 has step 2 but no exp_avg and exp_avg_sq")]:
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict({**good, "state": {0: entry}})
    with pytest.raises(ValueError, match="state for parameter 5, but there are 1 parameters"):
        opt.load_state_dict({**good, "state": {5: good["state"][0]}})
    with pytest.raises(ValueError, match="Adam: parameter 0 has step 0 but moments"):
        opt.load_state_dict({**good, "state": {0: {**good["state"][0], "step": 0}}})
    with pytest.raises(ValueError, match="lr must be a finite number >= 0, got -1"):
        opt.load_state_dict({**good, "param_groups": [{**good["param_groups"][0], "lr": -1.0}]})
    assert opt.state_dict()["state"][0]["step"] == 1  # unchanged through all of it


def test_a_state_without_the_kind_entry_loads():
    state = stepped().state_dict()
    del state["optimizer"]
    opt = stepped()
    opt.load_state_dict(state)
    assert opt.state_dict()["state"][0]["step"] == 1


# ---- schedules ----------------------------------------------------------------------

SCHEDULES = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=7, eta_min=1e-3),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_match_torch(name):
    torch = pytest.importorskip("torch", reason="torch.optim.lr_scheduler is the oracle")
    opt = eg.optim.SGD([Parameter(np.ones(1))], lr=0.1)
    topt = torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)
    ours = getattr(eg.optim, name)(opt, **SCHEDULES[name])
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **SCHEDULES[name])
    for _ in range(12):
        topt.step()
        ours.step(), theirs.step()
        # PyTorch updates the rates recursively (lr *= gamma), eigengrad in closed form.
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=1e-15)
        assert ours.last_epoch == theirs.last_epoch


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_state_round_trip(name):
    opt = eg.optim.SGD([Parameter(np.ones(1))], lr=0.1)
    schedule = getattr(eg.optim, name)(opt, **SCHEDULES[name])
    for _ in range(4):
        schedule.step()
    state = pickle.loads(pickle.dumps(schedule.state_dict()))
    assert "optimizer" not in state and state["last_epoch"] == 4
    opt2 = eg.optim.SGD([Parameter(np.ones(1))], lr=0.1)
    schedule2 = getattr(eg.optim, name)(opt2, **SCHEDULES[name])
    schedule2.load_state_dict(state)
    for _ in range(5):
        schedule.step(), schedule2.step()
        assert schedule.get_last_lr() == schedule2.get_last_lr()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_schedule_state_errors():
    opt = eg.optim.SGD([Parameter(np.ones(1))], lr=0.1)
    step = eg.optim.StepLR(opt, step_size=2)
    cosine = eg.optim.CosineAnnealingLR(opt, T_max=3)
    with pytest.raises(ValueError, match=r"StepLR.load_state_dict: missing entries \['gamma', 'step_size'\], "
                                         r"unexpected entries \['T_max', 'eta_min'\]"):
        step.load_state_dict(cosine.state_dict())
    with pytest.raises(ValueError, match="base_lrs has 2 rates for 1 parameter groups"):
        step.load_state_dict({**step.state_dict(), "base_lrs": [0.1, 0.1]})
    with pytest.raises(TypeError, match="expected a mapping"):
        step.load_state_dict([1, 2])
    with pytest.raises(ValueError, match="ExponentialLR: gamma must be > 0"):
        eg.optim.ExponentialLR(opt, gamma=0)
