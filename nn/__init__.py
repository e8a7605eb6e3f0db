"""Neural-network modules, layers, losses, regularization and init on tinygrad_lite tensors.

    from tinygrad_lite import nn
    import tinygrad_lite.nn.functional as F
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(32, 10))
    loss = nn.CrossEntropyLoss()(model(x), y) + nn.regularization.regularization_loss(model, 1e-4)
"""
from . import conv, functional, fused, im2col, init, regularization
from .containers import Flatten, Identity, Sequential
from .conv import AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout2d, MaxPool2d
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
from .module import IncompatibleKeys, Module, Parameter, eval_mode, functional_call
from .regularization import elastic_net_penalty, l1_penalty, l2_penalty, regularization_loss
from .serialization import load, save

__all__ = [
    "ELU",
    "AdaptiveAvgPool2d",
    "Arctan",
    "AvgPool2d",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "BinaryStep",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "HingeLoss",
    "Identity",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "PReLU",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "conv",
    "elastic_net_penalty",
    "eval_mode",
    "functional",
    "functional_call",
    "fused",
    "im2col",
    "init",
    "l1_penalty",
    "l2_penalty",
    "load",
    "regularization",
    "regularization_loss",
    "save",
]
