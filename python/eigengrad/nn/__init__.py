"""Neural networks: modules, layers and losses.

Examples
--------
>>> import numpy as np, eigengrad as eg
>>> model = eg.nn.MLP([64, 32, 10], generator=0)
>>> logits = model(np.zeros((8, 64)))
>>> loss = eg.nn.cross_entropy(logits, np.zeros(8, dtype=int))
>>> loss.backward()
>>> model[0].weight.grad.shape
(32, 64)
"""

from eigengrad.nn import functional
from eigengrad.nn.functional import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from eigengrad.nn.conv import Conv1d
from eigengrad.nn.embedding import Embedding
from eigengrad.nn.layers import (
    GELU,
    MLP,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from eigengrad.nn.module import Module, Parameter
from eigengrad.nn.normalization import LayerNorm
from eigengrad.nn.recurrent import LSTMCell

__all__ = [
    "functional", "Module", "Parameter", "Linear", "Sequential", "MLP", "ReLU", "Tanh", "Sigmoid", "GELU",
    "Identity", "Dropout", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss", "mse_loss", "cross_entropy",
    "binary_cross_entropy_with_logits", "LayerNorm", "Embedding", "LSTMCell", "Conv1d",
]
