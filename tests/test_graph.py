"""Tests of rmlp.design.graph: spec -> DOT (full and compact), escaping, speed, no Keras import."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pydot
import pytest

import rmlp
from rmlp.base.info import lookup
from rmlp.design.graph import (
    BYPASS_COLOR,
    COMPACT_MAX_BLOCKS,
    INVALID_COLOR,
    INVALID_FILL,
    MAIN_COLOR,
    MERGE_COLOR,
    auto_compact,
    field_path,
    full_node_count,
    to_dot,
)
from rmlp.design.plan import UNKNOWN, PlanError, make_plan
from rmlp.design.summary import summarize
from rmlp.keras.build import model_to_dot
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[1]


def _parse(dot: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(dot)
    assert graphs, "DOT did not parse"
    assert len(graphs) == 1
    return graphs[0]


def _unquote(value: str | None) -> str | None:
    if value is not None and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _all_nodes(graph: pydot.Graph) -> list[pydot.Node]:
    nodes = [n for n in graph.get_nodes() if n.get_name() not in ("node", "edge", "graph")]
    for sub in graph.get_subgraphs():
        nodes.extend(_all_nodes(sub))
    return nodes


def _all_edges(graph: pydot.Graph) -> list[pydot.Edge]:
    edges = list(graph.get_edges())
    for sub in graph.get_subgraphs():
        edges.extend(_all_edges(sub))
    return edges


def _subgraph_names(graph: pydot.Graph) -> list[str]:
    names = []
    for sub in graph.get_subgraphs():
        names.append(sub.get_name())
        names.extend(_subgraph_names(sub))
    return names


def _attr(node: pydot.Node | pydot.Edge, key: str) -> str | None:
    return _unquote(node.get_attributes().get(key))


def _spec_two_blocks() -> ModelSpec:
    return ModelSpec(
        name="two",
        blocks=[
            BlockSpec(layers=5, width=400, decrement=50),
            BlockSpec(layers=3, width=120, decrement=10, bypass=[16]),
        ],
        inter_block_layers=[64],
        final_layers=[75, 35],
    )


def test_full_form_parses_with_one_cluster_per_block() -> None:
    graph = _parse(to_dot(_spec_two_blocks()))
    names = _subgraph_names(graph)
    assert sorted(n for n in names if n.startswith("cluster_block")) == ["cluster_block0", "cluster_block1"]
    assert "cluster_legend" in names


def test_full_form_shows_widths_and_merge_width() -> None:
    dot = to_dot(_spec_two_blocks())
    labels = [_attr(n, "label") for n in _all_nodes(_parse(dot))]
    for width in (400, 350, 200, 120, 110, 100, 16, 64, 75, 35, 10):
        assert f"Dense {width}\\nrelu" in labels or f"Dense {width}\\nsoftmax" in labels, width
    # Block 1: main ends at 400 - 4*50 = 200, bypass carries 400 -> 600.
    assert "Concatenate\\n200 + 400 = 600" in labels
    # Block 2: main ends at 120 - 2*10 = 100, bypass Dense 16 -> 116.
    assert "Concatenate\\n100 + 16 = 116" in labels
    assert "Dropout 0.35" in labels and "BN" in labels and "Dropout 0.2" in labels


def test_main_and_bypass_use_their_own_colours() -> None:
    graph = _parse(to_dot(_spec_two_blocks()))
    nodes = _all_nodes(graph)
    by_class: dict[str, set[str | None]] = {}
    for node in nodes:
        by_class.setdefault(_attr(node, "class") or "", set()).add(_attr(node, "color"))
    assert by_class["main"] == {MAIN_COLOR}
    assert by_class["bypass"] == {BYPASS_COLOR}
    assert by_class["merge"] == {MERGE_COLOR}
    assert MAIN_COLOR != BYPASS_COLOR != MERGE_COLOR
    edge_colours = {_attr(e, "color") for e in _all_edges(graph)}
    assert {MAIN_COLOR, BYPASS_COLOR} <= edge_colours
    bypass_edges = [e for e in _all_edges(graph) if _attr(e, "color") == BYPASS_COLOR]
    assert bypass_edges and all(_attr(e, "style") == "dashed" for e in bypass_edges)


def test_every_node_has_a_tooltip_and_field_ids() -> None:
    spec = _spec_two_blocks().copy_with(
        grayscale_to_rgb=True,
        input_shape=[28, 28, 1],
        base_model={"name": "MobileNetV2", "weights": "none", "input_size": [96, 96]},
    )
    nodes = _all_nodes(_parse(to_dot(spec)))
    for node in nodes:
        assert _attr(node, "tooltip"), node.get_name()
    ids = [_attr(n, "id") for n in nodes if _attr(n, "class") != "legend"]
    assert all(ids), "every non-legend node names the spec field it comes from"
    assert len(ids) == len(set(ids)), "ids are unique"
    fields = {field_path(i) for i in ids if i}
    for expected in (
        "input_shape",
        "grayscale_to_rgb",
        "base_model.input_size",
        "base_model.name",
        "flatten",
        "blocks[0].width",
        "blocks[0].decrement",
        "blocks[1].bypass[0]",
        "blocks[1]",
        "inter_block_layers[0]",
        "final_layers[1]",
        "bypass_dropout",
        "num_outputs",
    ):
        assert expected in fields, expected
    labels = [_attr(n, "label") for n in nodes]
    assert "Resizing\\n96×96" in labels
    assert "Grayscale → RGB\\n28×28×3" in labels


def test_legend_explains_the_colours() -> None:
    graph = _parse(to_dot(_spec_two_blocks()))
    legend = next(s for s in graph.get_subgraphs() if s.get_name() == "cluster_legend")
    colours = {_attr(n, "color") for n in legend.get_nodes()}
    assert {MAIN_COLOR, BYPASS_COLOR, MERGE_COLOR} <= colours


def test_field_path_strips_the_counter() -> None:
    assert field_path("blocks[1].width#2") == "blocks[1].width"
    assert field_path("num_outputs") == "num_outputs"


@pytest.mark.parametrize("evil", ['a"b];evil[', 'x\\"];\npwned [label="pwn', "back\\slash\\", "<b>&amp;"])
def test_user_strings_are_escaped(evil: str) -> None:
    spec = ModelSpec(
        name=evil,
        base_model=BaseModelSpec(source="file", path=f"/tmp/{evil}.keras", cut_layer=evil, weights="none"),
        blocks=[BlockSpec(layers=2, width=20, decrement=5)],
    )
    dot = to_dot(spec)
    graph = _parse(dot)
    names = {n.get_name() for n in _all_nodes(graph)}
    assert "evil" not in names and "pwned" not in names
    label = _unquote(graph.get_graph_defaults()[0]["label"]) or ""
    first_line = label.split("\\n")[0]
    assert re.sub(r"\\(.)", r"\1", first_line) == evil.replace("\n", " ")
    # Same number of nodes as an innocent name: nothing injected.
    plain = _all_nodes(_parse(to_dot(spec.copy_with(name="plain", base_model=spec.base_model.model_dump()))))
    assert len(_all_nodes(graph)) == len(plain)


def test_user_strings_render_with_dot_if_available(tmp_path: Path) -> None:
    dot_bin = "/usr/bin/dot"
    if not Path(dot_bin).exists():
        pytest.skip("graphviz 'dot' is not installed")
    spec = ModelSpec(name='a"b];evil[', blocks=[BlockSpec(layers=2, width=20, decrement=5)])
    result = subprocess.run(
        [dot_bin, "-Tsvg"], input=to_dot(spec), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "a&quot;b];evil[" in result.stdout or 'a"b];evil[' in result.stdout


def test_full_node_count_matches_the_drawing() -> None:
    spec = _spec_two_blocks()
    nodes = [n for n in _all_nodes(_parse(to_dot(spec, compact=False))) if _attr(n, "class") != "legend"]
    assert len(nodes) == full_node_count(spec)


def test_compact_form_for_many_blocks_groups_identical_runs() -> None:
    blocks = (
        [BlockSpec(layers=3, width=200, decrement=20)] * 3
        + [BlockSpec(layers=5, width=400, decrement=50, bypass=[16])] * 10
        + [BlockSpec(layers=2, width=64, decrement=8)] * 26
        + [BlockSpec()]
    )
    spec = ModelSpec(blocks=blocks, inter_block_layers=[128])
    assert len(blocks) == 40 > COMPACT_MAX_BLOCKS
    assert auto_compact(spec)
    dot = to_dot(spec)
    graph = _parse(dot)
    assert not [n for n in _subgraph_names(graph) if n.startswith("cluster_block")]
    nodes = [n for n in _all_nodes(graph) if _attr(n, "class") != "legend"]
    block_nodes = [n for n in nodes if _attr(n, "class") == "block"]
    assert len(block_nodes) == 4
    assert "Blocks 4–13 (×10 identical)" in dot
    assert "Blocks 14–39 (×26 identical)" in dot
    assert "Block 40</B>" in dot
    assert "concat 200 + 16 = 216" in dot
    assert len(nodes) < full_node_count(spec) / 10
    # The full form (counted from its text: parsing 600 nodes with pydot takes seconds).
    full = to_dot(spec, compact=False)
    assert len(re.findall(r"^\s*n\d+ \[", full, flags=re.MULTILINE)) == full_node_count(spec) > 400


def test_compact_can_be_forced_both_ways() -> None:
    spec = _spec_two_blocks()
    assert not auto_compact(spec)
    assert "cluster_block0" not in to_dot(spec, compact=True)
    many = ModelSpec(blocks=[BlockSpec(layers=2, width=10, decrement=1)] * 12)
    assert "cluster_block11" in to_dot(many, compact=False)


def test_many_nodes_switch_to_compact_even_with_few_blocks() -> None:
    spec = ModelSpec(blocks=[BlockSpec(layers=40, width=400, decrement=5)] * 3)
    assert full_node_count(spec) > 150
    assert auto_compact(spec)


def test_invalid_widths_are_marked() -> None:
    spec = ModelSpec(blocks=[BlockSpec(layers=5, width=100, decrement=30)])
    nodes = _all_nodes(_parse(to_dot(spec)))
    bad = [n for n in nodes if _attr(n, "label") == "Dense -20\\nrelu"]
    assert bad and _attr(bad[0], "color") != MAIN_COLOR
    assert "below 1" in (_attr(bad[0], "tooltip") or "")
    assert "below 1" in to_dot(spec, compact=True)


def test_an_invalid_design_still_draws_with_its_invalid_layers_in_red() -> None:
    # Main path 100, 70, 40, 10, -20; a bypass Dense of 0 units; a final Dense of -4 units.
    spec = ModelSpec(blocks=[BlockSpec(layers=5, width=100, decrement=30, bypass=[0])], final_layers=[-4])
    plan = make_plan(spec, strict=False)
    assert [n.units for n in plan if not n.valid] == [-20, 0, -4]
    assert all(n.params >= 0 and n.flops >= 0 for n in plan), "an invalid width counts as nothing"
    nodes = _all_nodes(_parse(to_dot(spec, compact=False)))
    assert len([n for n in nodes if _attr(n, "class") != "legend"]) == full_node_count(spec)
    for label in ("Dense -20\\nrelu", "Dense 0\\nrelu", "Dense -4\\nrelu"):
        (node,) = [n for n in nodes if _attr(n, "label") == label]
        assert (_attr(node, "color"), _attr(node, "fillcolor")) == (INVALID_COLOR, INVALID_FILL), label
    valid = [n for n in nodes if _attr(n, "label") == "Dense 70\\nrelu"]
    assert valid and _attr(valid[0], "color") == MAIN_COLOR
    labels = [_attr(n, "label") for n in nodes]
    assert "Concatenate\\n-20 + 0 = -20" in labels
    compact = to_dot(spec, compact=True)
    assert f'COLOR="{INVALID_COLOR}"' in compact and "below 1" in compact


def _uninspected_file_spec(tmp_path: Path) -> ModelSpec:
    model = tmp_path / "features.keras"
    model.write_bytes(b"a .keras file that was never inspected")
    return ModelSpec(
        input_shape=[32, 32, 3],
        base_model=BaseModelSpec(source="file", path=str(model), weights="none"),
        blocks=[BlockSpec(layers=2, width=20, decrement=5, bypass=[8])],
        final_layers=[10],
    )


def test_an_uninspected_keras_file_draws_with_unknown_shapes(tmp_path: Path) -> None:
    spec = _uninspected_file_spec(tmp_path)
    assert spec.base_model is not None and lookup(spec.base_model) is None
    nodes = _all_nodes(_parse(to_dot(spec)))
    (base,) = [n for n in nodes if _attr(n, "id") == "base_model.path"]
    assert (_attr(base, "label") or "").endswith("\\n→ ?")
    labels = [_attr(n, "label") for n in nodes]
    assert "Flatten\\n→ ?" in labels and "Resizing\\nmodel's size" in labels
    assert "Preprocess\\nfamily's own" in labels
    # What follows the first Dense layer is known again.
    assert "Concatenate\\n15 + 8 = 23" in labels and "Dense 10\\nrelu" in labels
    plan = {n.name: n for n in make_plan(spec, strict=False)}
    assert plan["base_model"].shape == plan["flatten"].shape == UNKNOWN
    assert not plan["base_model"].known and plan["base_model"].params == 0
    assert plan["block1_entry"].shape == (20,) and plan["block1_entry"].params == 0, "its fan-in is not known"
    assert plan["block1_merge"].shape == (23,)
    compact = to_dot(spec, compact=True)
    assert "concat 15 + 8 = 23" in compact and "→ ?" in compact


def test_a_strict_plan_still_refuses_an_uninspected_keras_file(tmp_path: Path) -> None:
    spec = _uninspected_file_spec(tmp_path)
    with pytest.raises(PlanError, match="inspect it first"):
        make_plan(spec)
    with pytest.raises(PlanError):
        make_plan(spec, strict=True)
    with pytest.raises(PlanError):
        summarize(spec)


_VALID_SPECS = {
    "two_blocks": _spec_two_blocks(),
    "base_model": ModelSpec(
        input_shape=[28, 28, 1],
        grayscale_to_rgb=True,
        base_model={"name": "MobileNetV2", "weights": "none", "input_size": [96, 96], "trainable_layers": 2},
        bypass_regularizer="batchnorm",
        final_regularizer="batchnorm",
        blocks=[BlockSpec(layers=2, width=64, decrement=16, bypass=[32])],
        final_layers=[24],
    ),
    "table_with_runs": ModelSpec(
        input_shape=[13],
        task="regression",
        num_outputs=2,
        inter_block_layers=[32, 16],
        final_layers=[],
        blocks=[BlockSpec(layers=3, width=64, decrement=8, bypass=[16, 8])] * 3
        + [BlockSpec(layers=2, width=32, decrement=0)],
    ),
    "gray_2d": ModelSpec(
        input_shape=[28, 28], grayscale_to_rgb=True, task="binary", num_outputs=1,
        blocks=[BlockSpec(layers=1, width=12, decrement=3)],
    ),
}

# One drawn node per line: its (escaped) label and its id.
_NODE_LINE = re.compile(r'^\s*n\d+ \[label="((?:[^"\\]|\\.)*)".*?, id="([^"]*)"', flags=re.MULTILINE)


@pytest.mark.parametrize("name", sorted(_VALID_SPECS))
def test_the_drawing_shows_exactly_the_plan(name: str) -> None:
    spec = _VALID_SPECS[name]
    assert rmlp.is_valid(spec)
    plan = make_plan(spec)
    assert make_plan(spec, strict=False) == plan, "a valid spec plans the same either way"
    by_name = {n.name: n for n in plan}
    drawn = [n for n in plan if n.op != "reshape"]  # the added channel axis is part of Grayscale → RGB
    shown = _NODE_LINE.findall(to_dot(spec, compact=False))
    assert [field_path(node_id) for _, node_id in shown] == [n.path for n in drawn]
    for (label, _), node in zip(shown, drawn, strict=True):
        if node.op == "dense":
            assert label == f"Dense {node.units}\\n{node.activation}", node.name
        elif node.op == "concat":
            main, bypass = (by_name[src].shape[-1] for src in node.inputs)
            assert label == f"Concatenate\\n{main} + {bypass} = {node.shape[-1]}", node.name
            assert main + bypass == node.shape[-1]
        elif node.op in ("input", "gray_to_rgb", "base", "flatten"):
            assert label.endswith("×".join(str(d) for d in node.shape)), node.name
    # The compact form: one concat per run of identical blocks, the run's first block's merge.
    firsts = {i for i, block in enumerate(spec.blocks) if i == 0 or block != spec.blocks[i - 1]}
    merges = [n for n in plan if n.op == "concat" and n.block in firsts]
    expected = [(by_name[m.inputs[0]].shape[-1], by_name[m.inputs[1]].shape[-1], m.shape[-1]) for m in merges]
    found = re.findall(r"concat (\d+) \+ (\d+) = (\d+)", to_dot(spec, compact=True))
    assert [tuple(map(int, f)) for f in found] == expected


def test_hundred_blocks_are_fast_and_rankdir_is_checked() -> None:
    spec = ModelSpec(blocks=[BlockSpec(layers=5, width=400, decrement=50, bypass=[16])] * 100)
    start = time.perf_counter()
    compact = to_dot(spec)
    full = to_dot(spec, compact=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0
    assert "Blocks 1–100 (×100 identical)" in compact
    assert full.count("subgraph cluster_block") == 100
    _parse(compact)
    assert "rankdir=LR" in to_dot(spec, rankdir="LR")
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(spec, rankdir="sideways")


def test_accepts_a_dict_spec() -> None:
    assert "cluster_block0" in to_dot(_spec_two_blocks().to_dict())


def test_to_dot_never_imports_keras_or_tensorflow() -> None:
    code = (
        "import sys\n"
        "import rmlp.design.graph\n"
        "from rmlp.spec.model import BlockSpec, ModelSpec\n"
        "spec = ModelSpec(blocks=[BlockSpec(bypass=[16]) for _ in range(100)])\n"
        "rmlp.design.graph.to_dot(spec); rmlp.design.graph.to_dot(spec, compact=False)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_model_to_dot_on_a_tiny_functional_model() -> None:
    keras = pytest.importorskip("keras")
    inner_in = keras.Input((8,))
    inner = keras.Model(inner_in, keras.layers.Dense(4, activation="relu")(inner_in), name="base_net")
    inputs = keras.Input((8,), name="x")
    features = inner(inputs)
    left = keras.layers.Dense(3, name="main_dense")(features)
    right = keras.layers.Dropout(0.2, name="bypass_drop")(features)
    merged = keras.layers.Concatenate(name="merge")([left, right])
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(merged)
    model = keras.Model(inputs, outputs, name="tiny")
    dot = model_to_dot(model)
    graph = _parse(dot)
    text = " ".join(str(_attr(n, "label")) for n in _all_nodes(graph))
    for name in ("main_dense", "bypass_drop", "merge", "out", "base_net"):
        assert name in text
    assert "Dense" in text and "(None, 7)" in text
    # The nested base model stays one node (expand_nested=False): its Dense is not drawn.
    assert not any(s.get_name().startswith("cluster") for s in graph.get_subgraphs())
