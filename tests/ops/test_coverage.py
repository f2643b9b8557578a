"""The sample table covers exactly the ops of the C++ op table, each one broadly."""

from collections import Counter

import numpy as np

import eigengrad as eg
from samples import OPS


def test_every_op_has_samples():
    with_samples = {info.name for info in OPS if info.samples}
    missing = [name for name in eg._core.op_names() if name not in with_samples]
    assert not missing, f"ops without samples in tests/ops/samples.py: {missing}"


def test_table_names_existing_ops_once():
    names = Counter(info.name for info in OPS)
    unknown = sorted(set(names) - set(eg._core.op_names()))
    assert not unknown, f"tests/ops/samples.py names ops that do not exist: {unknown}"
    twice = sorted(name for name, n in names.items() if n > 1)
    assert not twice, f"ops listed twice in tests/ops/samples.py: {twice}"


def test_every_op_has_size_zero_and_non_contiguous_samples():
    no_size_zero, no_non_contiguous = [], []
    for info in OPS:
        inputs = [a for s in info.samples for a in s.args]
        outputs = [np.shape(info.ref(*s.args, **s.kwargs)) for s in info.samples]
        if not any(0 in shape for shape in [a.shape for a in inputs] + outputs):
            no_size_zero.append(info.name)
        if all(a.flags.c_contiguous for a in inputs):
            no_non_contiguous.append(info.name)
    assert not no_size_zero, f"ops without a size-0 sample: {no_size_zero}"
    assert not no_non_contiguous, f"ops without a non-contiguous sample: {no_non_contiguous}"
