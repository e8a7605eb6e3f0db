"""Neural-network modules, layers, losses, regularization and init on tinygrad_lite tensors.

    from tinygrad_lite import nn
    import tinygrad_lite.nn.functional as F
    model = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(32, 10))
    loss = nn.CrossEntropyLoss()(model(x), y) + nn.regularization.regularization_loss(model, 1e-4)

Laid out like ``torch.nn``, one topic per file:

    module         Module, Parameter, eval_mode, functional_call, IncompatibleKeys
    container      Sequential, ModuleList, ModuleDict, Flatten, Identity
    linear         Linear
    activation     every activation module (ReLU, Sigmoid, ..., GELU, SiLU, ...)
    batchnorm      BatchNorm1d, BatchNorm2d
    normalization  LayerNorm, GroupNorm
    dropout        Dropout, Dropout2d
    conv           Conv1d, Conv2d, ConvTranspose2d
    pooling        MaxPool2d, AvgPool2d, AdaptiveAvgPool2d
    sparse         Embedding
    loss           the loss modules (CrossEntropyLoss, MSELoss, ...)
    functional     every functional form: activations, layers, losses (``F.relu``, ``F.cross_entropy``)
    init           weight initialisation (``nn.init.kaiming_normal_``, ...)
    utils          gradient clipping (``nn.utils.clip_grad_norm_``)
    serialization  save, load, load_metadata (``.safetensors`` or ``.npz``, no pickle, atomic)
    regularization the lecture's L1/L2/elastic-net penalties
    rnn            RNN, GRU, LSTM, RNNCell, GRUCell, LSTMCell
    summarize      summary, ModelSummary
    transformer    MultiheadAttention, TransformerEncoderLayer, TransformerEncoder

and, private to nn, the Functions behind them: ``_functions`` (the fused linear and loss
Functions) and ``_conv`` (convolution and pooling: im2col/col2im and their Functions).
"""
from . import (
    activation,
    batchnorm,
    container,
    conv,
    dropout,
    functional,
    init,
    linear,
    loss,
    module,
    normalization,
    pooling,
    regularization,
    rnn,
    serialization,
    sparse,
    summarize,
    transformer,
    utils,
)
from .activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Arctan,
    BinaryStep,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Flatten, Identity, ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .linear import Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import IncompatibleKeys, Module, Parameter, eval_mode, functional_call
from .normalization import GroupNorm, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .regularization import elastic_net_penalty, l1_penalty, l2_penalty, regularization_loss
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .serialization import load, load_metadata, save
from .sparse import Embedding
from .summarize import ModelSummary, summary
from .transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "SELU",
    "AdaptiveAvgPool2d",
    "Arctan",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "BinaryStep",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GRUCell",
    "GroupNorm",
    "Hardswish",
    "Hardtanh",
    "HingeLoss",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "L1Loss",
    "LSTMCell",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Mish",
    "ModelSummary",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "NLLLoss",
    "PReLU",
    "Parameter",
    "RNNCell",
    "ReLU",
    "ReLU6",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Softsign",
    "Tanh",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "activation",
    "batchnorm",
    "container",
    "conv",
    "dropout",
    "elastic_net_penalty",
    "eval_mode",
    "functional",
    "functional_call",
    "init",
    "l1_penalty",
    "l2_penalty",
    "linear",
    "load",
    "load_metadata",
    "loss",
    "module",
    "normalization",
    "pooling",
    "regularization",
    "regularization_loss",
    "rnn",
    "save",
    "serialization",
    "sparse",
    "summarize",
    "summary",
    "transformer",
    "utils",
]
