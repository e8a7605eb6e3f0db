"""The shape of the code base: imports point one way, and files stay small.

    base      files, checks                      (import nothing of the library)
    core      backend, autograd, ops (+ ops_math, ops_shape), inplace, interop, math_methods,
              shape_methods, torch_names (Tensor's mixins), tensor, factory, gradcheck
    nn, optim tinygrad_lite.nn, tinygrad_lite.optim, and graph (draws the core's graphs; reads
              modules without importing nn)
    toolkit   data <- train <- hparam; data <- distributed <- hparam (distributed sits
              beside train: fit takes its DataParallel as an argument, neither imports
              the other)
    users     demos/, benchmarks/

Each layer imports only layers above it (and itself); the core never imports nn, optim
or the toolkit, nn and optim never import the toolkit. The imports are read from the
source (ast), including those inside functions, so a lazy import cannot get around it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ("backend", "autograd", "ops", "ops_math", "ops_shape", "inplace", "interop", "math_methods",
        "shape_methods", "torch_names", "tensor", "factory", "gradcheck")
# layer -> (group, rank): a module may import its own group and groups of a lower rank
LAYERS = {"files": ("base", 0), "checks": ("base", 0), **dict.fromkeys(CORE, ("core", 1)),
          "nn": ("nn", 2), "optim": ("optim", 2), "graph": ("graph", 2), "data": ("data", 3), "train": ("train", 4),
          "distributed": ("distributed", 4), "hparam": ("hparam", 5)}
RANK = {name: rank for name, (_, rank) in LAYERS.items()}
# the differentiable core; Tensor's in-place and Python/NumPy protocols are mixins of their own
# (inplace.py, interop.py). 900 until the in-place write check and backward's errors came in.
ENGINE = ("autograd.py", "ops.py", "tensor.py")
ENGINE_BUDGET = 1050
FILE_BUDGET = 400


def library_files() -> dict[str, Path]:
    """Installed module name -> source file, for every module of the package."""
    out = {}
    for folder, package in ((ROOT / "tinygrad_lite", "tinygrad_lite"), (ROOT / "nn", "tinygrad_lite.nn"),
                            (ROOT / "optim", "tinygrad_lite.optim")):
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            out[".".join((package, *parts))] = path
    return out


def layer(module: str) -> str | None:
    """The layer a library module belongs to (None for the package's own __init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imported_modules(module: str, source: str, is_package: bool = False) -> set[str]:
    """Absolute names of the library modules (and top-level ``nn``/``optim``) that ``source``,
    the text of ``module``, imports anywhere: at the top, inside functions, relatively."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    known = library_files()
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = base[: len(base) - node.level + 1] if node.level else []
            name = ".".join([*prefix, node.module] if node.module else prefix)
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                out.add(f"{name}.{alias.name}" if f"{name}.{alias.name}" in known else name)
    return {m for m in out if m in known or m.split(".")[0] in ("nn", "optim")}


def imports_of(module: str) -> set[str]:
    path = FILES[module]
    return imported_modules(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")


FILES = library_files()


def test_every_library_module_has_a_layer():
    for module in FILES:
        assert module == "tinygrad_lite" or layer(module) in RANK, f"{module} has no layer in RANK"


@pytest.mark.parametrize("module", sorted(m for m in FILES if m != "tinygrad_lite"))
def test_imports_point_one_way(module):
    rank = RANK[layer(module)]
    for target in imports_of(module):
        assert target.split(".")[0] == "tinygrad_lite", f"{module} imports the top-level {target!r}"
        target_layer = layer(target)
        if target_layer is None:  # the package itself: its __init__ imports nn and optim
            assert rank >= RANK["nn"], f"{module} imports the package root, which imports nn and optim"
            continue
        same_group = LAYERS[target_layer][0] == LAYERS[layer(module)][0]
        assert same_group or RANK[target_layer] < rank, (
            f"{module} ({layer(module)}) imports {target} ({target_layer}), a layer not above it")


def test_the_package_root_imports_no_toolkit():
    for target in imports_of("tinygrad_lite"):
        assert RANK[layer(target)] <= RANK["nn"], f"tinygrad_lite/__init__.py imports {target}"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_engine_core_fits_its_budget():
    sizes = {name: _lines(ROOT / "tinygrad_lite" / name) for name in ENGINE}
    assert sum(sizes.values()) <= ENGINE_BUDGET, f"engine core is {sum(sizes.values())} lines: {sizes}"


@pytest.mark.parametrize("module", sorted(FILES))
def test_no_library_file_is_over_budget(module):
    assert _lines(FILES[module]) <= FILE_BUDGET, f"{FILES[module]} has {_lines(FILES[module])} lines"


def test_the_import_reader_sees_what_it_must():
    """The rules above are only as good as the reader: it must resolve relative imports,
    `from pkg import submodule`, imports inside functions, and root-level names."""
    found = imports_of("tinygrad_lite.train.fit")
    assert {"tinygrad_lite.autograd", "tinygrad_lite.data.loader", "tinygrad_lite.optim.lr_scheduler",
            "tinygrad_lite.train.checkpoint"} <= found
    source = "def f():\n    from ..nn import module\n    import optim\n    from .. import Tensor\n"
    found = imported_modules("tinygrad_lite.data.probe", source)
    assert found == {"tinygrad_lite.nn.module", "optim", "tinygrad_lite"}
