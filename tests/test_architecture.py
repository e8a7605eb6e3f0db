"""The shape of the code base: one topic per file, imports that point one way, no circles.

    base      files, checks                      (import nothing of the library)
    core      backend, autograd, ops, tensor, factory, gradcheck
    nn, optim tinygrad_lite.nn, tinygrad_lite.optim, and graph (draws the core's graphs; reads
              modules without importing nn)
    toolkit   data <- train <- hparam; data <- distributed <- hparam (distributed sits
              beside train: fit takes its DataParallel as an argument, neither imports
              the other)
    users     demos/, benchmarks/

Each layer imports only layers above it (and itself); the core never imports nn, optim
or the toolkit, nn and optim never import the toolkit. No two modules import each other,
directly or around a longer circle, and no library module is imported inside a function (a
lazy import is how a circle hides). The imports are read from the source with ast by
docs/import_graph.py, the same reader that prints the graph's summary.

Files are cut by topic, not by size: there is no line budget. A file is named for its topic;
names that say "this is a piece of something else" (``_more``, ``_part2``, ``_methods``) are
refused.
"""
from __future__ import annotations

import importlib
import re

import pytest
from helpers import import_graph as ig

FILES = ig.library_files()
GRAPH = ig.import_graph()


def test_every_library_module_has_a_layer():
    for module in FILES:
        assert module == "tinygrad_lite" or ig.layer(module) in ig.LAYERS, f"{module} has no layer in LAYERS"


@pytest.mark.parametrize("module", sorted(m for m in FILES if m != "tinygrad_lite"))
def test_imports_point_one_way(module):
    path = FILES[module]
    for target in ig.imported_modules(module, path.read_text(encoding="utf-8"), set(FILES), path.name == "__init__.py"):
        assert target.split(".")[0] == "tinygrad_lite", f"{module} imports the top-level {target!r}"
    up = [(a, b) for a, b in ig.arrows_up(GRAPH) if a == module]
    assert not up, f"{module} imports a layer not above it: {up}"


def test_the_package_root_imports_no_toolkit():
    for target in GRAPH["tinygrad_lite"]:
        assert ig.LAYERS[ig.layer(target)][1] <= ig.LAYERS["nn"][1], f"tinygrad_lite/__init__.py imports {target}"


def test_no_import_cycles():
    assert ig.cycles(GRAPH) == []


def test_no_library_module_is_imported_inside_a_function():
    assert ig.lazy_importers() == [], "move the import to the top; if that makes a circle, move the shared piece"


def test_file_names_say_their_topic():
    pieces = re.compile(r"_(more|extra|part\d*|methods|continued)$")
    tests = sorted((ig.ROOT / "tests").glob("test_*.py"))
    names = [p.stem for p in FILES.values()] + [p.stem for p in tests]
    assert [n for n in names if pieces.search(n)] == []


def test_no_test_module_imports_another():
    """Shared test code lives in tests/helpers.py; a test module importing another would run
    (and count) the other's tests twice and hide where a helper lives."""
    tests = {p.stem for p in (ig.ROOT / "tests").glob("test_*.py")}
    for path in (ig.ROOT / "tests").glob("*.py"):
        found = ig.imported_modules(path.stem, path.read_text(encoding="utf-8"), tests)
        assert not found & tests, f"{path.name} imports {sorted(found & tests)}"


def test_the_import_reader_sees_what_it_must():
    """The rules above are only as good as the reader: it must resolve relative imports,
    `from pkg import submodule`, imports inside functions, and root-level names."""
    known = set(FILES)
    source = "def f():\n    from ..nn import module\n    import optim\n    from .. import Tensor\n"
    found = ig.imported_modules("tinygrad_lite.data.probe", source, known)
    assert found == {"tinygrad_lite.nn.module", "optim", "tinygrad_lite"}
    found = ig.imported_modules("tinygrad_lite.nn", "from . import functional as F\n", known, is_package=True)
    assert found == {"tinygrad_lite.nn.functional"}
    assert len(ig.function_level_imports("import os\ndef f():\n    import json\n    from . import x\n")) == 2


def test_the_cycle_finder_finds_circles_of_any_length():
    assert ig.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert ig.cycles({"a": {"b"}, "b": set()}) == []
    assert sorted(ig.cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}})) == [["a", "b"], ["c", "d"]]


# The names users import, as documented (README, docs/, demos, notebooks): a move between
# files must never break `from tinygrad_lite.X import name`.
PUBLIC = {
    "tinygrad_lite": """Function GradcheckError Tensor arange as_tensor cat concatenate draw_graph eye full
        full_like get_default_device gradcheck graph is_available is_grad_enabled manual_seed maximum minimum
        nn no_grad ones ones_like optim rand rand_like randn randn_like set_default_device stack to_numpy
        where zeros zeros_like cuda einsum empty enable_grad inference_mode linspace load multinomial randint
        randperm save tensor tril triu autograd gradgradcheck""",
    "tinygrad_lite.autograd": """Function backward enable_grad functional grad inference_mode is_grad_enabled
        mark_written no_grad sum_to""",
    "tinygrad_lite.autograd.functional": "hessian hvp jacobian jvp vhp vjp",
    "tinygrad_lite.cuda": "device_count is_available manual_seed manual_seed_all synchronize",
    "tinygrad_lite.nn": """AdaptiveAvgPool2d Arctan AvgPool2d BCELoss BCEWithLogitsLoss BatchNorm1d BatchNorm2d
        BinaryStep CELU Conv2d ConvTranspose2d CrossEntropyLoss Dropout Dropout2d ELU Embedding Flatten GELU Hardswish Hardtanh
        HingeLoss HuberLoss Identity IncompatibleKeys L1Loss LayerNorm LeakyReLU Linear LogSoftmax MSELoss
        MaxPool2d Mish ModelSummary Module ModuleDict ModuleList NLLLoss PReLU Parameter ReLU ReLU6 SELU
        Sequential SiLU Sigmoid SmoothL1Loss Softmax Softplus Softsign Tanh elastic_net_penalty eval_mode
        MultiheadAttention TransformerEncoderLayer TransformerEncoder
        RNN GRU LSTM RNNCell GRUCell LSTMCell
        Conv1d GroupNorm
        functional functional_call init l1_penalty l2_penalty load regularization_loss save summary utils""",
    "tinygrad_lite.nn.functional": """adaptive_avg_pool2d arctan avg_pool2d batch_norm binary_cross_entropy
        binary_cross_entropy_with_logits binary_step celu conv2d cross_entropy dropout dropout2d elu embedding
        gelu hardswish hardtanh hinge_loss huber_loss l1_loss layer_norm leaky_relu linear log_softmax
        max_pool2d mish mse_loss nll_loss prelu relu relu6 selu sigmoid silu smooth_l1_loss softmax softplus
        softsign tanh conv1d one_hot pad conv_transpose2d scaled_dot_product_attention group_norm""",
    "tinygrad_lite.nn.init": """calculate_gain constant_ fans kaiming_normal_ kaiming_uniform_ normal_ ones_
        pytorch_default_ small_normal_ uniform_ xavier_normal_ xavier_uniform_ zeros_""",
    "tinygrad_lite.nn.utils": "clip_grad_norm_ clip_grad_value_",
    "tinygrad_lite.optim": "Adadelta Adagrad Adam AdamW Adamax NAdam Optimizer RMSprop SGD lr_scheduler",
    "tinygrad_lite.optim.lr_scheduler": """CosineAnnealingLR ExponentialLR InverseTimeLR LRScheduler LambdaLR
        LinearLR MultiStepLR OneCycleLR ReduceLROnPlateau SequentialLR StepLR""",
    "tinygrad_lite.train": """ActivationMonitor ActivationStats Callback ConfusionMatrixMonitor Finding
        GradientNormMonitor History InitialLossCheck InitialLossWarning LRFindResult NonFiniteLossError
        OverfitCheck activation_statistics check_initial_loss confusion_matrix count_correct diagnose evaluate
        expected_initial_loss fit gradient_norms load_checkpoint lr_find moving_average overfit_small_subset
        per_class_accuracy plot_activation_statistics plot_confusion_matrix plot_first_layer_weights
        plot_gradient_norms plot_history read_png_data save_checkpoint weight_grid generate sample_next""",
    "tinygrad_lite.data": """Compose DATASETS DataLoader DatasetNotFoundError PCAWhiten PerChannelMean
        ShardedLoader Split Standardize Transform ZeroCenter cache_dir download_file find_dataset load_dataset
        load_digits load_fashion_mnist load_mnist parse_idx read_idx read_idx_pair sample_batch search_dirs
        sha256_of stratified_order CharVocab WordSplit context_windows load_names load_text sample_blocks
        split_text""",
    "tinygrad_lite.hparam": """Choice LogUniform SearchResult Space Trial Uniform border_warnings format_trial
        grid_points grid_search narrow random_search run_trials trial_streams widen""",
    "tinygrad_lite.distributed": """Communicator DEFAULT_TIMEOUT DataParallel DistributedError ShardedLoader
        SyncBatchNorm1d SyncBatchNorm2d convert_sync_batchnorm dask_executor import_mpi init""",
    "tinygrad_lite.files": "atomic_write decode_float encode_float read_json to_json write_json",
    "tinygrad_lite.utils.data": """BatchSampler DataLoader Dataset RandomSampler Sampler SequentialSampler
        TensorDataset default_collate default_convert""",
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_names_still_import(module):
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module].split() if not hasattr(mod, name)]
    assert missing == [], f"{module} lost {missing}"
    if hasattr(mod, "__all__"):
        assert sorted(set(PUBLIC[module].split()) - set(mod.__all__)) == [], f"{module}.__all__ leaves out names"
