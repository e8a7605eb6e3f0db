"""The library's module import graph, read from the source with ast, and a summary of its shape.

    python docs/import_graph.py                 # summary of this checkout
    python docs/import_graph.py --root DIR      # of another checkout (e.g. an older commit's worktree)
    python docs/import_graph.py --dot graph.dot # the graph in Graphviz's DOT language as well

Every import counts: at the top of a file, inside a function (so a lazy import that closes a
circle is seen), relative, and `from package import submodule`. The layers (README, "Layout")
rank the modules; an arrow "runs back up" when a module imports one of a lower layer that is
not its own group. tests/test_architecture.py pins the same facts with the same reader.
"""
from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# folder -> installed package name (nn/ and optim/ install inside tinygrad_lite)
PACKAGES = (("tinygrad_lite", "tinygrad_lite"), ("nn", "tinygrad_lite.nn"), ("optim", "tinygrad_lite.optim"))
# layer -> (group, rank): a module may import its own group and groups of a lower rank.
# The layer of tinygrad_lite.X.Y is X (its first part below the package).
CORE = ("backend", "autograd", "ops", "tensor", "factory", "gradcheck", "cuda", "host_memory")
LAYERS = {"files": ("base", 0), "checks": ("base", 0), "version": ("base", 0), **dict.fromkeys(CORE, ("core", 1)),
          "nn": ("nn", 2), "optim": ("optim", 2), "graph": ("graph", 2), "data": ("data", 3),
          # utils.data (torch.utils.data) is the data group's base: data's array loaders use its samplers
          "utils": ("data", 3),
          "train": ("train", 4), "distributed": ("distributed", 4), "hparam": ("hparam", 5)}


def library_files(root: Path = ROOT) -> dict[str, Path]:
    """Installed module name -> source file, for every module of the package."""
    out = {}
    for folder, package in PACKAGES:
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            out[".".join((package, *parts))] = path
    return out


def imported_modules(module: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """Absolute names of the library modules (and top-level ``nn``/``optim``) that ``source``,
    the text of ``module``, imports anywhere: at the top, inside functions, relatively."""
    base = module.split(".") if is_package else module.split(".")[:-1]
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


def function_level_imports(source: str) -> list[ast.AST]:
    """The import statements inside a function or method body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return found


def lazy_importers(root: Path = ROOT) -> list[str]:
    """The modules that import a library module inside a function."""
    files = library_files(root)
    found = []
    for module, path in files.items():
        inner = "\n".join(ast.unparse(n) for n in function_level_imports(path.read_text(encoding="utf-8")))
        if imported_modules(module, inner, set(files), path.name == "__init__.py"):
            found.append(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the library modules it imports (itself left out)."""
    files = library_files(root)
    known = set(files)
    return {m: imported_modules(m, p.read_text(encoding="utf-8"), known, p.name == "__init__.py") - {m}
            for m, p in files.items()}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module that ``start`` imports, directly or through others."""
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or around a longer circle
    (modules that reach each other), each sorted; the graph is small enough to ask plainly."""
    reach = {m: reachable(graph, m) for m in graph}
    found, placed = [], set()
    for m in sorted(graph):
        group = sorted({m} | {n for n in reach[m] if m in reach.get(n, ())})
        if m not in placed and len(group) > 1:
            found.append(group)
            placed.update(group)
    return found


def layer(module: str) -> str | None:
    """The layer a library module belongs to (None for the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def arrows_up(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports that run back up: into a layer of the same or a higher rank that is not the
    module's own group (the package root counts as the top: it re-exports nn and optim). A
    top-level module missing from LAYERS is taken as core (older checkouts had more of them)."""
    bad = []
    for module, targets in graph.items():
        if layer(module) is None:
            continue
        group, rank = LAYERS.get(layer(module), LAYERS["tensor"])
        for t in targets:
            if layer(t) is None:
                if rank < LAYERS["nn"][1]:
                    bad.append((module, t))
                continue
            t_group, t_rank = LAYERS.get(layer(t), LAYERS["tensor"])
            if t_group != group and t_rank >= rank:
                bad.append((module, t))
    return sorted(bad)


def summary(root: Path = ROOT) -> str:
    files = library_files(root)
    graph = import_graph(root)
    per_package: dict[str, list[int]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        per_package.setdefault(package, []).append(len(path.read_text(encoding="utf-8").splitlines()))
    longest = max(files, key=lambda m: len(files[m].read_text(encoding="utf-8").splitlines()))
    lazy = lazy_importers(root)
    lines = [f"{len(files)} modules, {sum(map(len, graph.values()))} import arrows"]
    lines += [f"  {p}: {len(sizes)} files, {sum(sizes)} lines" for p, sizes in sorted(per_package.items())]
    lines.append(f"longest file: {files[longest].relative_to(root)} "
                 f"({len(files[longest].read_text(encoding='utf-8').splitlines())} lines)")
    found = cycles(graph)
    lines.append(f"cycles: {len(found)}" + "".join(f"\n  {' <-> '.join(c)}" for c in found))
    up = arrows_up(graph)
    lines.append(f"arrows that run back up: {len(up)}" + "".join(f"\n  {a} -> {b}" for a, b in up))
    lines.append(f"function-level imports of library modules: {len(lazy)}" + "".join(f"\n  {m}" for m in lazy))
    return "\n".join(lines)


def to_dot(graph: dict[str, set[str]]) -> str:
    short = {m: m.removeprefix("tinygrad_lite.") for m in graph}
    edges = [f'  "{short[a]}" -> "{short.get(b, b)}";' for a in sorted(graph) for b in sorted(graph[a])]
    return "digraph imports {\n  rankdir=LR;\n" + "\n".join(edges) + "\n}\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout to read (default: this one)")
    p.add_argument("--dot", type=Path, help="also write the graph as Graphviz DOT to this file")
    args = p.parse_args(argv)
    print(summary(args.root))
    if args.dot:
        args.dot.write_text(to_dot(import_graph(args.root)), encoding="utf-8")


if __name__ == "__main__":
    main()
