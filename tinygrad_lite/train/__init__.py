"""Training toolkit: the fit loop, its history, checkpoints, the lecture's sanity checks and plots.

    from tinygrad_lite.train import fit, evaluate, History, check_initial_loss, overfit_small_subset
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01),
                  (x_train, y_train), epochs=10, batch_size=64, val=(x_val, y_val))

``plot_history`` and ``plot_first_layer_weights`` need matplotlib (imported on use).
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
from .checkpoint import load_checkpoint, save_checkpoint
from .fit import NonFiniteLossError, count_correct, evaluate, fit
from .history import History
from .plots import moving_average, plot_first_layer_weights, plot_history, weight_grid

__all__ = [
    "Finding", "History", "InitialLossCheck", "InitialLossWarning", "NonFiniteLossError",
    "OverfitCheck", "check_initial_loss", "count_correct", "diagnose", "evaluate",
    "expected_initial_loss", "fit", "load_checkpoint", "moving_average", "overfit_small_subset",
    "plot_first_layer_weights", "plot_history", "save_checkpoint", "weight_grid",
]
