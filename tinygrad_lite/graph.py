"""Drawing the computational graph that produced a tensor, as micrograd's ``draw_dot`` does.

    g = tl.draw_graph(loss, names={"x": x, "w": w})   # every tensor and op, values of small tensors
    g = tl.draw_graph(model, x, collapse=True)         # one node per layer of a model
    g.source                                           # the DOT text, always available
    g.save("graph.svg")                                # .svg/.png/.pdf need Graphviz's `dot`
    g                                                  # in Jupyter: displayed inline (SVG)

The library writes the DOT text itself (no ``graphviz`` Python package); only rendering needs
the ``dot`` program (Debian/Ubuntu: ``apt-get install graphviz``). Tensors are records (name,
shape and dtype, and the data and gradient of tensors of at most ``values`` elements), ops are
ellipses, and each edge goes from an input to the op that used it, or from an op to its output.

This module only reads the graph (``Tensor._ctx``, ``Function.parents``); it never changes it.
It works with any module that has ``named_modules``/``named_parameters`` (it does not import
``nn``, which sits beside it in the layering).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np  # host-side formatting of values

from . import backend
from .autograd.engine import _FREED
from .files import atomic_write
from .tensor import Tensor

RENDERED = ("svg", "png", "pdf")
INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
                "conda: conda install -c conda-forge graphviz)")


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program and it is not on ``PATH``."""


# ---------------------------------------------------------------- which module made which op
@dataclass
class ModuleCall:
    """One call of a module during a traced forward pass: its dotted ``path`` in the model
    ("" for the model itself), the ``module``, the tensors it was given and the ``output``."""

    path: str
    module: object
    inputs: tuple
    output: object


@dataclass
class ModuleTrace:
    """What :func:`trace_modules` recorded: ``calls`` in the order the calls returned
    (a layer before the container that called it)."""

    calls: list = field(default_factory=list)


@contextmanager
def trace_modules(model) -> Iterator[ModuleTrace]:
    """``with trace_modules(model) as trace:`` record every call of ``model`` and of its
    sub-modules (path, inputs, output) until the block ends.

    Each module's ``forward`` is wrapped for the duration of the block (an attribute on the
    instance, which ``Module.__call__`` finds before the class's method) and put back after,
    also when the block raises: the modules' code and the engine stay untouched, and a model
    outside the block runs at full speed."""
    if not hasattr(model, "named_modules"):
        raise TypeError(f"trace_modules: model must be a module (with named_modules), "
                        f"got {type(model).__name__}")
    trace, wrapped = ModuleTrace(), []
    try:
        for path, m in model.named_modules():
            had_own = "forward" in m.__dict__
            original = m.forward
            object.__setattr__(m, "forward", _recording(trace, path, m, original))
            wrapped.append((m, had_own, original))
        yield trace
    finally:
        for m, had_own, original in reversed(wrapped):
            if had_own:
                object.__setattr__(m, "forward", original)
            else:
                del m.__dict__["forward"]


def _recording(trace: ModuleTrace, path: str, module, forward):
    def recorded(*args, **kwargs):
        out = forward(*args, **kwargs)
        inputs = tuple(a for a in (*args, *kwargs.values()) if isinstance(a, Tensor))
        trace.calls.append(ModuleCall(path, module, inputs, out))
        return out

    return recorded


# ---------------------------------------------------------------- the graph
@dataclass
class Node:
    """One node of a drawn graph: ``kind`` is "tensor", "op" or "module"; ``title`` the
    tensor's name (or ""), the op's name ("Mul") or the module's path and class; ``fields``
    the lines under the title (shape and dtype, data, grad, parameters)."""

    key: str
    kind: str
    title: str
    fields: list = field(default_factory=list)
    style: dict = field(default_factory=dict)


class Graph:
    """A drawn computational graph: ``nodes`` (key -> Node, in the order of the DOT text),
    ``edges`` ((from key, to key), each once) and ``source``, the DOT text.

    ``save(path)`` writes the DOT text (``.dot``/``.gv``) or a picture (``.svg``, ``.png``,
    ``.pdf``, through Graphviz's ``dot``); ``pipe("svg")`` returns the picture's bytes. In
    Jupyter the graph shows itself as SVG (``_repr_mimebundle_``), or as its DOT text with a
    note on what to install when ``dot`` is missing."""

    def __init__(self, nodes: dict, edges: list, rankdir: str = "LR"):
        self.nodes, self.edges, self.rankdir = nodes, edges, rankdir

    def __repr__(self) -> str:
        return f"Graph({len(self.nodes)} nodes, {len(self.edges)} edges)"

    @property
    def source(self) -> str:
        """The graph in Graphviz's DOT language."""
        lines = ["digraph tinygrad_lite {", f"  rankdir={self.rankdir};",
                 '  node [fontname="Helvetica", fontsize=10]; edge [color="#555555"];']
        for node in self.nodes.values():
            attrs = {**_SHAPES[node.kind], **node.style, "label": _label(node)}
            lines.append(f"  {node.key} [" + ", ".join(f'{k}="{v}"' for k, v in attrs.items()) + "];")
        lines += [f"  {a} -> {b};" for a, b in self.edges]
        return "\n".join(lines) + "\n}\n"

    def pipe(self, format: str = "svg") -> bytes:
        """The graph rendered by ``dot`` as ``format`` ("svg", "png" or "pdf") bytes."""
        if format not in RENDERED:
            raise ValueError(f"Graph.pipe: format must be one of {RENDERED}, got {format!r}")
        dot = shutil.which("dot")
        if dot is None:
            raise GraphvizNotFoundError(
                f"rendering the graph as {format} needs the `dot` program, which is not on PATH: "
                f"{INSTALL_HINT}. The DOT text needs nothing: graph.source, or graph.save('graph.dot').")
        done = subprocess.run([dot, f"-T{format}"], input=self.source.encode(), capture_output=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def save(self, path: str | os.PathLike) -> Path:
        """Write the graph to ``path``: DOT text for a ``.dot`` or ``.gv`` name, a picture for
        ``.svg``, ``.png`` or ``.pdf`` (needs ``dot``); atomically. Returns the path."""
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix in ("dot", "gv"):
            data = self.source.encode()
        elif suffix in RENDERED:
            data = self.pipe(suffix)
        else:
            raise ValueError(f"Graph.save: path must end in .dot, .gv, .svg, .png or .pdf, got {os.fspath(path)!r}")
        with atomic_write(path) as f:
            f.write(data)
        return Path(path)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if shutil.which("dot") is None:
            return {"text/plain": f"{self!r}: `dot` not found, so here is the DOT text ({INSTALL_HINT} "
                                  f"to see the picture)\n{self.source}"}
        return {"image/svg+xml": self.pipe("svg").decode(), "text/plain": repr(self)}

    def _repr_svg_(self) -> str | None:
        return self.pipe("svg").decode() if shutil.which("dot") else None


_SHAPES = {
    "tensor": {"shape": "record", "style": "filled", "fillcolor": "white"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#fff2cc"},
    "module": {"shape": "Mrecord", "style": "filled", "fillcolor": "#dae8fc"},
}
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in '\\"{}|<>'})


def _label(node: Node) -> str:
    if node.kind == "op":
        return node.title.translate(_RECORD_SPECIAL)
    parts = [p.translate(_RECORD_SPECIAL) for p in (node.title, *node.fields) if p]
    return "{ " + " | ".join(parts) + " }"


def draw_graph(root, *inputs, model=None, names: dict | None = None, values: int = 6,
               collapse: bool | int = False, trace: ModuleTrace | None = None, rankdir: str = "LR") -> Graph:
    """The computational graph that produced ``root`` (a Tensor, or a list of them).

    - ``draw_graph(model, x, ...)``: runs ``model(x)`` while tracing its modules and draws the
      output's graph; parameters are named by their module path ("0.weight").
    - ``model``: names parameters and buffers by their path; ``names``: {"x": x, ...} names
      other tensors.
    - ``values``: tensors of at most this many elements show their data and, for leaves after
      ``backward()``, their gradient (0: none). Only leaves keep a ``.grad`` (as in PyTorch).
    - ``collapse``: one node per module, for a large model. True: the model's children;
      an int d: modules d levels down (and shallower ones without children). Needs the
      modules' calls: use ``draw_graph(model, x, collapse=True)``, or pass the ``trace`` of
      ``with trace_modules(model) as trace:`` around the forward pass.

    Draw before ``backward()`` or after ``backward(retain_graph=True)``: backward frees the
    graph otherwise. ``rankdir`` is Graphviz's direction ("LR": left to right, "TB")."""
    if hasattr(root, "named_modules") and callable(root):
        if model is not None and model is not root:
            raise ValueError("draw_graph: pass the model once, as the first argument or as model=")
        model = root
        with trace_modules(model) as traced:
            root = model(*inputs)
        trace = traced
        given = [t for t in inputs if isinstance(t, Tensor)]
        names = {**{("input" if len(given) == 1 else f"input{i}"): t for i, t in enumerate(given)},
                 **(names or {})}
    elif inputs:
        raise TypeError(f"draw_graph: inputs are given to a model; the first argument is a "
                        f"{type(root).__name__}, not a module")
    roots = list(root) if isinstance(root, (tuple, list)) else [root]
    if not roots or not all(isinstance(r, Tensor) for r in roots):
        raise TypeError(f"draw_graph: root must be a Tensor, a list of Tensors or a module, got {root!r:.80}")
    if isinstance(values, bool) or not isinstance(values, int) or values < 0:
        raise ValueError(f"draw_graph: values must be an int >= 0 (the largest tensor whose data is "
                         f"shown), got {values!r}")
    depth = int(collapse) if not isinstance(collapse, bool) else (1 if collapse else 0)
    if depth and trace is None:
        raise ValueError("draw_graph: collapse needs the modules' calls: pass the model and its input, "
                         "draw_graph(model, x, collapse=True), or the trace of `with trace_modules(model) "
                         "as trace:` around the forward pass as trace=")
    if depth and model is None:
        raise ValueError("draw_graph: collapse needs model=, the module whose layers become nodes")
    nodes, edges, tensors = _walk(roots, _names(model, names), values)
    if depth:
        nodes, edges = _collapse(nodes, edges, tensors, trace, depth)
    return Graph(nodes, edges, rankdir)


def _names(model, names: dict | None) -> dict:
    """id(tensor) -> its name: the model's parameters and buffers by path, then ``names``."""
    out = {}
    if model is not None:
        for getter in ("named_parameters", "named_buffers"):
            for path, t in getattr(model, getter)():
                out[id(t)] = path
    for name, t in (names or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"draw_graph: names[{name!r}] must be a Tensor, got {type(t).__name__}")
        out[id(t)] = name
    return out


def _walk(roots: list, labels: dict, values: int) -> tuple[dict, list, dict]:
    """(nodes, edges, key -> tensor) of everything reachable from ``roots`` (iteratively:
    graphs may be deep), in the order found; keys "t<n>" for tensors and "op<n>" for the
    Function that made t<n>."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:  # depth-first post-order: every tensor after the tensors it was made from
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        ctx = t._ctx
        if ctx is _FREED:
            raise RuntimeError("draw_graph: backward() already freed this graph; draw it before "
                               "backward(), or call backward(retain_graph=True)")
        stack.append((t, True))
        if ctx is not None:
            stack.extend((p, False) for p in reversed(ctx.parents) if id(p) not in seen)
    keys = {id(t): f"t{i}" for i, t in enumerate(order)}
    nodes, edges = {}, []
    root_ids = {id(r) for r in roots}
    for t in order:
        key = keys[id(t)]
        if t._ctx is not None:
            op = "op" + key[1:]
            nodes[op] = Node(op, "op", type(t._ctx).__name__)
            edges.extend((keys[id(p)], op) for p in t._ctx.parents)
            edges.append((op, key))
        nodes[key] = _tensor_node(key, t, labels.get(id(t), ""), values, id(t) in root_ids)
    return nodes, list(dict.fromkeys(edges)), {keys[id(t)]: t for t in order}


def _tensor_node(key: str, t: Tensor, name: str, values: int, is_root: bool) -> Node:
    shape = "scalar" if t.shape == () else str(tuple(t.shape))
    fields = [f"{shape} {t.dtype}"]
    if t.numel() <= values:
        fields.append("data " + _fmt(t._data))
        if t.grad is not None:
            fields.append("grad " + _fmt(t.grad._data))
    style = {}
    if t._ctx is None:  # a leaf: trained (it requires grad) or given (inputs, constants)
        style["fillcolor"] = "#d5e8d4" if t.requires_grad else "#eeeeee"
    if is_root:
        style["penwidth"] = "2"
    return Node(key, "tensor", name, fields, style)


def _fmt(array) -> str:
    a = backend.to_numpy(array)
    text = np.array2string(a, precision=4, separator=", ", suppress_small=True, floatmode="fixed")
    return " ".join(text.split())


def _collapse(nodes: dict, edges: list, tensors: dict, trace: ModuleTrace, depth: int) -> tuple[dict, list]:
    """Merge the ops and tensors made inside each module call at ``depth`` into one node."""
    keys = {id(t): key for key, t in tensors.items()}
    owner: dict[str, str] = {}
    groups: dict[str, tuple] = {}
    for call in trace.calls:
        if not _collapsed_here(call, depth) or id(call.output) not in keys:
            continue
        members = _members(call, keys, owner)
        if not members:  # it computed nothing (Identity, Dropout in eval mode)
            continue
        mkey = f"m{len(groups)}"
        groups[mkey] = (call, members)
        owner.update(dict.fromkeys(members, mkey))
    out_nodes: dict = {}
    for key, node in nodes.items():
        mkey = owner.get(key)
        if mkey is None:
            out_nodes[key] = node
        elif mkey not in out_nodes:
            out_nodes[mkey] = _module_node(mkey, *groups[mkey], tensors)
    moved = ((owner.get(a, a), owner.get(b, b)) for a, b in edges)
    return out_nodes, list(dict.fromkeys((a, b) for a, b in moved if a != b))


def _collapsed_here(call: ModuleCall, depth: int) -> bool:
    """A call is one node at ``depth`` levels below the model, or above it if it has no children."""
    level = call.path.count(".") + 1 if call.path else 0
    has_children = any(True for _ in call.module.named_children())
    return level == depth or (0 < level < depth and not has_children)


def _members(call: ModuleCall, keys: dict, owner: dict) -> list:
    """Keys of the tensors and ops made inside ``call``: everything reached backwards from its
    output before reaching one of its inputs (its parameters and constants included), less
    what an earlier call already took."""
    stop = {id(t) for t in call.inputs}
    members, stack, seen = [], [call.output], set()
    while stack:
        t = stack.pop()
        key = keys.get(id(t))
        if id(t) in stop or id(t) in seen or key is None or key in owner:
            continue
        seen.add(id(t))
        members.append(key)
        if t._ctx is not None:
            members.append("op" + key[1:])
            stack.extend(t._ctx.parents)
    return members


def _module_node(key: str, call: ModuleCall, members: list, tensors: dict) -> Node:
    m = call.module
    extra = m.extra_repr() if hasattr(m, "extra_repr") else ""
    title = f"{call.path or 'model'}: {type(m).__name__}({extra})"
    inside = {id(tensors[k]) for k in members if k in tensors}
    held = [f"{name} {tuple(p.shape)}" for name, p in m.named_parameters() if id(p) in inside]
    out = call.output
    fields = [f"out {tuple(out.shape)} {out.dtype}"] + ([", ".join(held)] if held else [])
    return Node(key, "module", title, fields)
