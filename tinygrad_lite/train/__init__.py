"""Training toolkit: the fit loop, its history, checkpoints, the lecture's sanity checks and plots.

    from tinygrad_lite.train import fit, evaluate, History, check_initial_loss, overfit_small_subset
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01),
                  (x_train, y_train), epochs=10, batch_size=64, val=(x_val, y_val))

Diagnostics, after training or during it as ``fit(..., callbacks=[...])``: the confusion matrix
with per-class accuracy, each layer's gradient norm over training, each activation layer's
statistics (``diagnostics``; their monitors in ``callbacks``). Before training, ``lr_find``: the
learning-rate range test (``lr_finder``). Every figure is in ``plots``; the ``plot_*`` functions
need matplotlib (imported on use).

Modules: ``loop`` (fit), ``evaluation`` (evaluate and the helpers the others share), ``history``,
``checkpoint``, ``callbacks``, ``babysit`` (the lecture's sanity checks), ``diagnostics``,
``lr_finder``, ``plots``, ``generate`` (sampling from a language model).
"""
from .babysit import (
    Finding,
    InitialLossCheck,
    InitialLossWarning,
    OverfitCheck,
    check_initial_loss,
    diagnose,
    expected_initial_loss,
    overfit_small_subset,
)
from .callbacks import ActivationMonitor, Callback, ConfusionMatrixMonitor, GradientNormMonitor
from .checkpoint import load_checkpoint, save_checkpoint
from .diagnostics import (
    ActivationStats,
    activation_statistics,
    confusion_matrix,
    gradient_norms,
    per_class_accuracy,
)
from .evaluation import count_correct, evaluate
from .generate import generate, sample_next
from .history import History
from .loop import NonFiniteLossError, fit
from .lr_finder import LRFindResult, lr_find
from .plots import (
    moving_average,
    plot_activation_statistics,
    plot_confusion_matrix,
    plot_first_layer_weights,
    plot_gradient_norms,
    plot_history,
    read_png_data,
    weight_grid,
)

__all__ = [
    "ActivationMonitor", "ActivationStats", "Callback", "ConfusionMatrixMonitor", "Finding",
    "GradientNormMonitor", "History", "InitialLossCheck", "InitialLossWarning", "LRFindResult",
    "NonFiniteLossError", "OverfitCheck", "activation_statistics", "check_initial_loss", "confusion_matrix", "count_correct",
    "diagnose", "evaluate", "expected_initial_loss", "fit", "generate", "gradient_norms", "load_checkpoint", "lr_find",
    "moving_average", "overfit_small_subset", "per_class_accuracy", "plot_activation_statistics",
    "plot_confusion_matrix", "plot_first_layer_weights", "plot_gradient_norms", "plot_history",
    "read_png_data", "sample_next", "save_checkpoint", "weight_grid",
]
