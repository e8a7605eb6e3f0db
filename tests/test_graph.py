"""tl.draw_graph: the nodes and edges of known expressions and models, the DOT text as Graphviz
reads it, rendering through `dot`, the message when `dot` is missing, and Jupyter's display."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.graph import Graph, GraphvizNotFoundError, trace_modules

HAVE_DOT = shutil.which("dot") is not None
# CI installs Graphviz: there a missing `dot` is a failure, not a reason to skip
needs_dot = pytest.mark.skipif(not HAVE_DOT and not os.environ.get("CI"),
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


def titled_edges(g: Graph) -> set:
    """The edges as (title, title) pairs; an unnamed tensor is titled by its first field."""
    def title(key):
        node = g.nodes[key]
        return node.title or node.fields[0]
    return {(title(a), title(b)) for a, b in g.edges}


def expression():
    a = tl.Tensor(2.0, requires_grad=True)
    b = tl.Tensor(-3.0, requires_grad=True)
    c = a * b
    d = c + a
    return a, b, c, d


def test_a_known_expression_has_its_nodes_and_edges():
    a, b, c, d = expression()
    g = tl.draw_graph(d, names={"a": a, "b": b, "c": c, "d": d})
    kinds = sorted((n.kind, n.title) for n in g.nodes.values())
    assert kinds == [("op", "Add"), ("op", "Mul"), ("tensor", "a"), ("tensor", "b"), ("tensor", "c"),
                     ("tensor", "d")]
    assert titled_edges(g) == {("a", "Mul"), ("b", "Mul"), ("Mul", "c"), ("c", "Add"), ("a", "Add"),
                               ("Add", "d")}
    # every tensor is listed after the tensors it was made from
    order = [n.title for n in g.nodes.values() if n.kind == "tensor"]
    assert order.index("c") > max(order.index("a"), order.index("b")) and order[-1] == "d"
    for key in g.nodes:
        assert f"  {key} [" in g.source
    for a_key, b_key in g.edges:
        assert f"  {a_key} -> {b_key};" in g.source


def test_values_and_gradients_of_small_tensors_are_shown():
    a, b, _, d = expression()
    d.backward(retain_graph=True)  # d = a b + a: dd/da = b + 1 = -2, dd/db = a = 2
    g = tl.draw_graph(d, names={"a": a, "b": b})
    fields = {n.title: n.fields for n in g.nodes.values() if n.title in ("a", "b")}
    assert fields["a"] == ["scalar float32", "data 2.0000", "grad -2.0000"]
    assert fields["b"] == ["scalar float32", "data -3.0000", "grad 2.0000"]
    big = tl.Tensor(np.arange(7.0), requires_grad=True)
    node = next(iter(tl.draw_graph(big.sum()).nodes.values()))
    assert node.fields == ["(7,) float64"], "7 elements > values=6: no data"
    assert "data [0.0000, 1.0000" in next(iter(tl.draw_graph(big.sum(), values=7).nodes.values())).fields[1]


def test_a_freed_graph_and_bad_arguments_are_named():
    a, b, _, d = expression()
    d.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        tl.draw_graph(d)
    with pytest.raises(ValueError, match="values must be an int"):
        tl.draw_graph(a, values=-1)
    with pytest.raises(TypeError, match="root must be a Tensor"):
        tl.draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="collapse needs the modules' calls"):
        tl.draw_graph(a * b, collapse=True)
    with pytest.raises(TypeError, match=r"names\['x'\] must be a Tensor"):
        tl.draw_graph(a, names={"x": 1.0})


def test_a_deep_graph_is_walked_without_recursion():
    x = tl.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    g = tl.draw_graph(y, values=0)
    assert sum(n.kind == "op" for n in g.nodes.values()) == 5000


def mlp():
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_parameters_carry_their_module_path():
    model, x = mlp(), tl.randn(5, 4)
    g = tl.draw_graph(model, x)
    assert titled_edges(g) == {
        ("input", "Linear"), ("0.weight", "Linear"), ("0.bias", "Linear"), ("Linear", "(5, 8) float32"),
        ("(5, 8) float32", "ReLU"), ("ReLU", "(5, 8) float32"), ("(5, 8) float32", "Linear"),
        ("2.weight", "Linear"), ("2.bias", "Linear"), ("Linear", "(5, 3) float32")}
    assert len(g.nodes) == 11 and len(g.edges) == 10  # the two (5, 8) tensors are two nodes
    # the forward passes were traced and untraced: no wrapper is left on any module
    assert all("forward" not in m.__dict__ for m in model.modules())


def test_a_model_collapses_to_one_node_per_layer():
    model, x = mlp(), tl.randn(5, 4)
    g = tl.draw_graph(model, x, collapse=True)
    titles = [n.title for n in g.nodes.values()]
    assert titles == ["input", "0: Linear(in_features=4, out_features=8, bias=True)", "1: ReLU()",
                      "2: Linear(in_features=8, out_features=3, bias=True)"]
    keys = list(g.nodes)
    assert g.edges == [(keys[0], keys[1]), (keys[1], keys[2]), (keys[2], keys[3])]
    last = g.nodes[keys[3]]
    assert last.fields == ["out (5, 3) float32", "weight (3, 8), bias (3,)"]


def test_a_loss_collapses_with_a_trace_and_nested_modules_by_depth():
    tl.manual_seed(0)
    block = lambda: nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    model = nn.Sequential(block(), block(), nn.Linear(4, 2))
    x, y = tl.randn(6, 4), tl.Tensor(np.array([0, 1, 0, 1, 1, 0]))
    with trace_modules(model) as trace:
        loss = nn.CrossEntropyLoss()(model(x), y)
    g = tl.draw_graph(loss, model=model, collapse=True, trace=trace, names={"x": x, "y": y})
    modules = [n.title.split(":")[0] for n in g.nodes.values() if n.kind == "module"]
    assert modules == ["0", "1", "2"]
    # the labels enter the fused loss as an array, not a tensor of the graph
    assert [n.title for n in g.nodes.values() if n.kind == "op"] == ["SoftmaxCrossEntropy"]
    assert {(a.split(":")[0], b.split(":")[0]) for a, b in titled_edges(g)} == {
        ("x", "0"), ("0", "1"), ("1", "2"), ("2", "SoftmaxCrossEntropy"),
        ("SoftmaxCrossEntropy", "scalar float32")}
    deep = tl.draw_graph(loss, model=model, collapse=2, trace=trace)
    modules = [n.title.split(":")[0] for n in deep.nodes.values() if n.kind == "module"]
    assert modules == ["0.0", "0.1", "1.0", "1.1", "2"]


def test_trace_modules_puts_forward_back_after_an_error():
    model = mlp()
    with pytest.raises(ValueError, match="boom"), trace_modules(model) as trace:
        model(tl.randn(2, 4))
        raise ValueError("boom")
    assert [c.path for c in trace.calls] == ["0", "1", "2", ""]
    assert all("forward" not in m.__dict__ for m in model.modules())
    with pytest.raises(TypeError, match="must be a module"), trace_modules(object()):
        pass


def graphviz_view(source: str) -> tuple[set, set]:
    """(node names, edges) as Graphviz itself parses the DOT text."""
    out = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, check=True).stdout
    data = json.loads(out)
    names = {o["name"] for o in data.get("objects", [])}
    by_gvid = {o["_gvid"]: o["name"] for o in data.get("objects", [])}
    return names, {(by_gvid[e["tail"]], by_gvid[e["head"]]) for e in data.get("edges", [])}


@needs_dot
def test_graphviz_reads_the_same_nodes_and_edges_and_renders(tmp_path):
    from PIL import Image

    a, b, c, d = expression()
    d.backward(retain_graph=True)
    g = tl.draw_graph(d, names={"a": a, "b": b, "c": c, "d": d})
    names, edges = graphviz_view(g.source)
    assert names == set(g.nodes) and edges == set(g.edges)
    svg = g.save(tmp_path / "g.svg").read_text()
    assert "<svg" in svg and ">Mul<" in svg and "grad &#45;2.0000" in svg
    with Image.open(g.save(tmp_path / "g.png")) as im:
        assert im.size[0] > 200 and im.size[1] > 50
    assert g.save(tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml") and "<svg" in g._repr_svg_()
    collapsed = tl.draw_graph(mlp(), tl.randn(2, 4), collapse=True)
    assert graphviz_view(collapsed.source)[1] == set(collapsed.edges)


def test_without_dot_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    d = expression()[-1]
    g = tl.draw_graph(d)
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        g.save(tmp_path / "g.png")
    assert "graph.source" in str(info.value) and not (tmp_path / "g.png").exists()
    assert g.save(tmp_path / "g.dot").read_text() == g.source  # the DOT text needs nothing
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "apt-get install graphviz" in bundle["text/plain"]
    assert g.source in bundle["text/plain"] and g._repr_svg_() is None
    with pytest.raises(ValueError, match=r"\.dot, \.gv, \.svg"):
        g.save(tmp_path / "g.jpg")
