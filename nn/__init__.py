"""Neural-network modules, layers, losses, regularization and init on tinygrad_lite tensors.

    from tinygrad_lite import nn
    import tinygrad_lite.nn.functional as F
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(32, 10))
    loss = nn.CrossEntropyLoss()(model(x), y) + nn.regularization.regularization_loss(model, 1e-4)
"""
from . import functional, fused, init, regularization
from .layers import (
    ELU,
    Arctan,
    BatchNorm1d,
    BinaryStep,
    Dropout,
    LeakyReLU,
    Linear,
    LogSoftmax,
    PReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, MSELoss
from .module import (
    Flatten,
    Identity,
    IncompatibleKeys,
    Module,
    Parameter,
    Sequential,
    eval_mode,
    functional_call,
)
from .regularization import elastic_net_penalty, l1_penalty, l2_penalty, regularization_loss
from .serialization import load, save

__all__ = [
    "ELU", "Arctan", "BCEWithLogitsLoss", "BatchNorm1d", "BinaryStep", "CrossEntropyLoss", "Dropout",
    "Flatten", "HingeLoss", "Identity", "IncompatibleKeys", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "Module", "PReLU", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "elastic_net_penalty", "eval_mode", "functional", "functional_call", "init", "l1_penalty", "l2_penalty", "load",
    "regularization", "regularization_loss", "save",
]
