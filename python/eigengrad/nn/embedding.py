"""``Embedding``: a learnable table of vectors looked up by integer indices."""

from __future__ import annotations

from typing import Any, Optional

from eigengrad._core import Variable
from eigengrad.nn import functional as F
from eigengrad.nn.layers import GeneratorLike, _generator
from eigengrad.nn.module import Module, Parameter


class Embedding(Module):
    """A lookup table, as ``torch.nn.Embedding``: ``Embedding(n, d)(indices)`` is
    ``weight[indices]``, of shape ``indices.shape + (d,)``.

    Parameters
    ----------
    num_embeddings : int
        Rows of the table (indices run over ``[0, num_embeddings)``).
    embedding_dim : int
        Length of each vector.
    padding_idx : int, optional
        A row initialised to zeros that gets no gradient (its value is still read,
        as in PyTorch); negative counts from the end.
    dtype : str or numpy.dtype, optional
        Of ``weight``; float64 by default.
    generator : int, eg.random.Generator or None
        Source of the initial ``weight``, drawn from ``N(0, 1)`` as PyTorch does.

    Notes
    -----
    Indices are data, not Variables: a NumPy integer array or a list of ints. A
    float array or a Variable is a TypeError; an index out of range (negative
    included) is an IndexError naming the range. See
    :func:`eigengrad.nn.functional.embedding`.

    Examples
    --------
    >>> import eigengrad as eg
    >>> table = eg.nn.Embedding(10, 3, padding_idx=0, generator=0)
    >>> table([[1, 2, 0], [4, 0, 0]]).shape
    (2, 3, 3)
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None, dtype: Any = None,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        if num_embeddings < 0 or embedding_dim < 0:
            raise ValueError(f"Embedding: sizes must be >= 0, got ({num_embeddings}, {embedding_dim})")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = F._padding_idx(padding_idx, num_embeddings, "Embedding")
        table = _generator(generator).normal(0.0, 1.0, (num_embeddings, embedding_dim)).numpy()
        if self.padding_idx is not None:
            table[self.padding_idx] = 0.0
        self.weight = Parameter(table, dtype="float64" if dtype is None else dtype)

    def forward(self, indices: Any) -> Variable:
        return F._embedding(indices, self.weight, self.padding_idx, "Embedding")

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
