"""Spec -> Graphviz DOT, drawn the way a residual MLP is explained; no Keras needed.

:func:`to_dot` draws a spec's layer plan (:func:`rmlp.design.plan.make_plan` with ``strict=False``,
so that a design that cannot be built yet still draws, its invalid layers in red and unknown shapes
as ``?``): one ``cluster_blockN`` per residual block, the main path in blue,
the bypass in orange (dashed arrows), the Concatenate merge in green, and a legend. Every node
carries a plain-words ``tooltip`` (hover text for teaching) and, where it comes from a spec field,
an ``id`` holding that field's path, the plan node's ``path`` (``blocks[1].width``; a second node
from the same field gets ``blocks[1].width#2``, see :func:`field_path`). Large designs switch to a
compact form with one node per block, and one node per run of identical blocks. The DOT text
itself is written by :mod:`rmlp.design.dot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from rmlp.design.dot import (
    BYPASS_COLOR,
    INVALID_COLOR,
    INVALID_FILL,
    MAIN_COLOR,
    MERGE_COLOR,
    OTHER_COLOR,
    STYLES,
    DotWriter,
    field_path,
    html_text,
    label,
    quote,
)
from rmlp.design.plan import DENSE_OPS, Node, Op, make_plan
from rmlp.spec.model import BlockSpec, ModelSpec
from rmlp.spec.units import count

__all__ = [
    "BYPASS_COLOR",
    "COMPACT_MAX_BLOCKS",
    "COMPACT_MAX_NODES",
    "MAIN_COLOR",
    "MERGE_COLOR",
    "auto_compact",
    "field_path",
    "full_node_count",
    "to_dot",
]

#: The compact form is used automatically above this many blocks ...
COMPACT_MAX_BLOCKS = 8
#: ... or above this many nodes in the full form.
COMPACT_MAX_NODES = 150

_RANKDIRS = ("TB", "LR", "BT", "RL")
_FONT = "Helvetica"


_PREPROCESS_WORDS = {
    "tf": "scale to −1…1",
    "torch": "ImageNet mean/std",
    "caffe": "BGR, subtract mean",
}

_ACTIVATION_WORDS = {
    "softmax": "softmax turns the outputs into class probabilities that add up to 1",
    "sigmoid": "sigmoid turns each output into a probability between 0 and 1",
    "linear": "linear leaves the outputs as plain numbers (regression)",
}

# ----------------------------------------------------------------------------- the plan, in parts

#: Plan ops left out of the drawing: the channel axis added for the grayscale conversion is part of it.
_HIDDEN_OPS: frozenset[Op] = frozenset({"reshape"})


@dataclass
class _Parts:
    """A layer plan cut into the pieces the drawing lays out."""

    front: list[Node]  # input, grayscale conversion, base model, flatten
    blocks: list[list[Node]]  # the nodes of each block, by plan block index
    gaps: dict[int, list[Node]]  # the between-block layers after block i
    head: list[Node]  # final layers and the output layer
    by_name: dict[str, Node]


def _split(nodes: list[Node]) -> _Parts:
    """The drawn nodes of a plan, sorted into front, blocks, gaps and head."""
    parts = _Parts([], [], {}, [], {n.name: n for n in nodes})
    for node in nodes:
        if node.op in _HIDDEN_OPS:
            continue
        if node.block is not None:
            if node.block == len(parts.blocks):
                parts.blocks.append([])
            parts.blocks[node.block].append(node)
        elif node.role == "inter":
            parts.gaps.setdefault(len(parts.blocks) - 1, []).append(node)
        elif node.role in ("final", "output"):
            parts.head.append(node)
        else:
            parts.front.append(node)
    return parts


def _block_key(block: BlockSpec) -> tuple[Any, ...]:
    return (block.layers, block.width, block.decrement, tuple(block.bypass))


def _groups(blocks: list[BlockSpec]) -> list[tuple[int, int]]:
    """Runs of consecutive identical blocks as (first, last) indices, inclusive."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(blocks) + 1):
        if i == len(blocks) or _block_key(blocks[i]) != _block_key(blocks[start]):
            runs.append((start, i - 1))
            start = i
    return runs


def _compact_parts(spec: ModelSpec, runs: list[tuple[int, int]]) -> tuple[_Parts, list[int]]:
    """The plan of ``spec`` with each run of identical blocks cut to two blocks (a lone block stays one).

    That plan holds every layer the compact form shows (a run's block, the gap inside a run, the gap
    after it) at a fraction of the cost of planning every block. Returns its parts and, per run, the
    plan block index of the run's first block.
    """
    blocks: list[BlockSpec] = []
    firsts: list[int] = []
    for first, last in runs:
        firsts.append(len(blocks))
        blocks.extend(spec.blocks[first : min(last, first + 1) + 1])
    short = spec.model_copy(update={"blocks": blocks})
    return _split(make_plan(short, strict=False)), firsts


def _drawn_count(nodes: list[Node]) -> int:
    return sum(node.op not in _HIDDEN_OPS for node in nodes)


def full_node_count(spec: ModelSpec) -> int:
    """Nodes of the full drawing (legend left out): the plan's layers, counted without drawing."""
    return _drawn_count(make_plan(spec, strict=False))


def auto_compact(spec: ModelSpec) -> bool:
    """Whether :func:`to_dot` picks the compact form by itself for this spec."""
    return len(spec.blocks) > COMPACT_MAX_BLOCKS or full_node_count(spec) > COMPACT_MAX_NODES


# ----------------------------------------------------------------------------- labels and tooltips


def _shape_text(shape: tuple[int, ...]) -> str:
    """``28×28×3``; ``?`` for a shape the plan does not know."""
    return "×".join(str(d) for d in shape) if shape else "?"


def _size_text(size: int | None) -> str:
    return "?" if size is None else str(size)


def _dense_label(node: Node) -> str:
    members = node.extra.get("members", 1)
    return label(f"Dense {node.units}" + (f" ×{members}" if members > 1 else ""), node.activation)


def _reg_label(node: Node) -> str:
    return f"Dropout {node.rate:g}" if node.op == "dropout" else "BN"


def _reg_tooltip(node: Node, where: str) -> str:
    if node.op == "dropout":
        return (
            f"Dropout {where}: during training it switches off a random {node.rate:.0%} of the units "
            "at every step, so the network cannot lean on any single one. Does nothing at "
            "prediction time."
        )
    return (
        f"Batch normalisation {where}: rescales every unit to zero mean and unit variance over "
        "the batch, then learns its own scale and shift; it keeps training stable."
    )


def _merge_sizes(parts: _Parts, merge: Node) -> tuple[str, str, str]:
    """The Concatenate's main-path, bypass and joined widths, as the plan has them."""
    main, bypass = (parts.by_name[name].features for name in merge.inputs)
    return _size_text(main), _size_text(bypass), _size_text(merge.features)


def _trainable_text(layers: int) -> str:
    if layers <= 0:
        return "frozen"
    return "last layer trains" if layers == 1 else f"last {layers} layers train"


# ----------------------------------------------------------------------------- drawing parts


def _draw_input(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    shape = _shape_text(node.shape)
    return g.node(
        label("Input", shape),
        f"The input: one example of shape {shape} (the batch axis is not shown).",
        "other",
        node.path,
    )


def _draw_gray(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    return g.node(
        label("Grayscale → RGB", _shape_text(node.shape)),
        "Repeats the single grey channel three times, because pre-trained image models "
        "expect three colour channels.",
        "other",
        node.path,
    )


def _draw_resize(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    height, width = node.extra["height"], node.extra["width"]
    size = f"{height}×{width}" if height is not None and width is not None else "model's size"
    return g.node(
        label("Resizing", size),
        f"Resizes every image to {size}, the input size the base model works at.",
        "other",
        node.path,
    )


def _draw_preprocess(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    return g.node(
        label("Preprocess", _PREPROCESS_WORDS.get(node.extra["family"] or "", "family's own")),
        "Applies the base model family's own input preprocessing (scaling, channel order, "
        "mean), as its pre-trained weights expect pixels prepared this way.",
        "other",
        node.path,
    )


def _draw_base(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    """The base model as one node: what it is (from the spec) and its output shape (from the plan)."""
    base = spec.base_model
    assert base is not None
    if base.source == "applications":
        name, detail, where = base.name, [f"pooling {base.pooling}"], base.name
    else:
        name = PurePath(base.path).name or "(no file chosen)"
        detail = [f"cut at {base.cut_layer}"] if base.cut_layer else []
        where = base.path or "a .keras file"
    weights = "ImageNet weights" if base.weights == "imagenet" else "random weights"
    trainable = _trainable_text(base.trainable_layers)
    return g.node(
        label(name, weights, *detail, trainable, f"→ {_shape_text(node.shape)}"),
        f"Pre-trained base model {where}: turns each image into features that the residual "
        f"MLP learns from ({weights}, {trainable}).",
        "base",
        node.path,
        shape="box3d",
        style="filled",
    )


def _draw_flatten(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    return g.node(
        label("Flatten", f"→ {_shape_text(node.shape)}"),
        "Flattens each example into one long vector, because the blocks concatenate along "
        "the feature axis and need one number per feature.",
        "other",
        node.path,
    )


def _draw_embedding(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    """An embedding as one node: the periodic one (its frequencies, sine and cosine) or the piecewise-linear one
    (its bins and clip), each with its per-feature linear layer."""
    d = spec.embedding_dim
    if spec.embedding == "piecewise":
        n = spec.embedding_bins
        title, detail, what = "Piecewise-linear embedding", f"{n} bins", (
            f"its position in each of {n} bins between quantiles of its training values (0 below a bin, 1 above "
            "it; the bins are set from the training rows and not trained), then a linear layer per feature with "
            "ReLU (the 'PLE' embedding)")
    else:
        n = spec.embedding_frequencies
        title, detail, what = "Periodic embedding", f"{n} frequencies", (
            f"the feature times {n} learned frequencies, the sine and cosine of each, then a linear layer per "
            "feature with ReLU (the 'PLR' embedding)")
    return g.node(label(title, f"{detail} → {d} per feature"),
                  f"Every feature becomes {d} values of its own: {what}. It lets the network follow sharp "
                  "thresholds of single columns.", "other", node.path)


def _draw_feature_scale(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    return g.node(label("Feature scales", f"learned, one per value → {_shape_text(node.shape)}"),
                  "Every value that enters the blocks times a learned factor of its own, starting at 1, so the "
                  "network can turn a column up or down within a few steps.", "other", node.path)


def _draw_members(g: DotWriter, spec: ModelSpec, node: Node) -> str:
    members = node.extra["members"]
    if spec.ensemble_layout == "shared":
        kind, tip = "shared weights", (
            f"A shared-weight ensemble: the features go to {members} members at once, each member scales every "
            "feature by its own learned factor, and every Dense layer below is one layer for all members.")
    else:
        kind, tip = "packed", (
            f"A packed ensemble: the features go to {members} members at once; every Dense layer below (marked "
            f"×{members}) holds each member's own weights and computes all of them in one EinsumDense.")
    return g.node(label(f"×{members} members", kind), tip, "other", node.path)


#: How each op of the front (before the blocks) is drawn, by op; the embedding's other ops are drawn with it.
_FRONT: dict[Op, Callable[[DotWriter, ModelSpec, Node], str]] = {
    "periodic": _draw_embedding,
    "bins": _draw_embedding,
    "repeat": _draw_members,
    "input": _draw_input,
    "gray_to_rgb": _draw_gray,
    "resize": _draw_resize,
    "preprocess": _draw_preprocess,
    "base": _draw_base,
    "flatten": _draw_flatten,
    "feature_scale": _draw_feature_scale,
}


def _draw_front(g: DotWriter, spec: ModelSpec, nodes: list[Node]) -> str:
    """Input, grayscale conversion, base model and flatten, in a row; returns the last node."""
    last = ""
    for node in nodes:
        if (node.extra.get("embed") and node.op not in ("periodic", "bins")) or node.op == "member_scale":
            continue  # the embedding is drawn as one node, the members' scales with the members
        name = _FRONT[node.op](g, spec, node)
        if last:
            g.edge(last, name)
        last = name
    return last


def _draw_chain(
    g: DotWriter,
    nodes: list[Node],
    prev: str,
    dense_tip: Callable[[int, Node], str],
    after_dense: str,
    *,
    role: str = "other",
    after_fork: str = "",
    group: str | None = None,
) -> str:
    """Dense layers and their regularisers in a row, from ``prev``; returns the last node.

    ``dense_tip(k, node)`` is the tooltip of the k-th Dense layer; a regulariser says it sits
    ``after_dense``, or ``after_fork`` while no Dense layer came before it.
    """
    dense = 0
    for node in nodes:
        if node.op in DENSE_OPS:
            tip = dense_tip(dense, node)
            name = g.node(_dense_label(node), tip, role, node.path, invalid=not node.valid, group=group)
            dense += 1
        else:
            tip = _reg_tooltip(node, after_dense if dense else after_fork)
            name = g.node(label(_reg_label(node)), tip, role, node.path, reg=True, group=group)
        g.edge(prev, name, role)
        prev = name
    return prev


def _main_tip(block: BlockSpec, i: int) -> Callable[[int, Node], str]:
    """Tooltips of block ``i``'s main-path Dense layers."""

    def tip(m: int, node: Node) -> str:
        text = f"Main-path Dense layer {m + 1} of {block.layers} in block {i + 1}: {node.units} units, "
        text += f"{node.activation}."
        if m > 0:
            text += f" Each layer has {block.decrement} units fewer than the one before (k − {m}·l)."
        if not node.valid:
            text += (
                " This width is below 1, so the block cannot be built: lower the decrement (l) "
                "or the number of layers (j), or raise the first width (k)."
            )
        return text

    return tip


def _bypass_tip(i: int) -> Callable[[int, Node], str]:
    """Tooltips of block ``i``'s bypass Dense layers."""

    def tip(n: int, node: Node) -> str:
        return (
            f"Bypass Dense layer {n + 1} of block {i + 1}: {node.units} units, {node.activation}. It reshapes "
            "what the bypass carries around the main path."
        )

    return tip


def _draw_block_full(g: DotWriter, spec: ModelSpec, parts: _Parts, nodes: list[Node], prev: str) -> str:
    """One block as a cluster: entry, main path, bypass, merge; returns the merge node."""
    entry, merge = nodes[0], nodes[-1]
    i = entry.block or 0
    block = spec.blocks[i]
    group = f"main{i}"
    g.open_cluster(
        f"cluster_block{i}",
        f"Block {i + 1}   [j={block.layers}, k={block.width}, l={block.decrement}]",
        f"Residual block {i + 1}: the entry output runs down the main path of shrinking Dense "
        "layers and, unchanged or through a few small layers, around it on the bypass; the "
        "two ends are concatenated side by side.",
        f"blocks[{i}]",
    )
    fork = g.node(
        _dense_label(entry),
        f"Entry layer of block {i + 1}: a Dense layer with {entry.units} units and {entry.activation} "
        "activation. Its output goes two ways: down the main path and around it on the bypass.",
        "main",
        entry.path,
        invalid=not entry.valid,
        group=group,
    )
    main_end = _draw_chain(
        g, [n for n in nodes if n.role == "main"], fork, _main_tip(block, i), "after a main-path Dense layer",
        role="main", after_fork="at the start of the main path", group=group,
    )
    if not spec.residual:  # the plain twin: the block ends at its main path
        g.close_cluster()
        g.edge(prev, fork)
        return main_end
    bypass_end = _draw_chain(
        g, [n for n in nodes if n.role == "bypass"], fork, _bypass_tip(i), "after a bypass Dense layer",
        role="bypass", after_fork="on the bypass, right after the fork",
    )
    main_out, by_out, total = _merge_sizes(parts, merge)
    joined = g.node(
        label("Concatenate", f"{main_out} + {by_out} = {total}"),
        f"Merge of block {i + 1}: puts the main path's {main_out} units and the bypass's "
        f"{by_out} units side by side ({total} units). It concatenates, it does "
        "not add, so the width grows.",
        "merge",
        merge.path,
        group=group,
        penwidth="1.6",
    )
    g.edge(main_end, joined, "main")
    g.edge(bypass_end, joined, "bypass")
    g.close_cluster()
    # Outside the cluster: an edge written inside one would pull ``prev`` into it.
    g.edge(prev, fork)
    return joined


def _draw_gap_full(g: DotWriter, gap: int, nodes: list[Node], prev: str) -> str:
    """The between-block layers at one gap (after block ``gap``)."""

    def tip(n: int, node: Node) -> str:
        return (
            f"Between blocks {gap + 1} and {gap + 2}: a Dense layer with {node.units} units "
            f"({node.activation}); the same layers sit in every gap between two blocks."
        )

    return _draw_chain(g, nodes, prev, tip, "between blocks")


def _draw_blocks_full(g: DotWriter, spec: ModelSpec, parts: _Parts, prev: str) -> str:
    """Every block as a cluster, with the layers of each gap; returns the last node."""
    for i, nodes in enumerate(parts.blocks):
        prev = _draw_block_full(g, spec, parts, nodes, prev)
        prev = _draw_gap_full(g, i, parts.gaps.get(i, []), prev)
    return prev


def _bn(spec: ModelSpec) -> bool:
    """Whether the main path has batch normalisation after each Dense layer."""
    return spec.normalization == "batchnorm"


def _main_text(entry: Node, widths: list[int | None], bn: bool = True) -> str:
    if not widths:
        stack = "no Dense layers"
    elif len(widths) == 1:
        stack = f"Dense {widths[0]}"
    elif widths[0] == widths[-1]:
        stack = f"{len(widths)}×Dense {widths[0]}"
    else:
        stack = f"{len(widths)}×Dense {widths[0]}…{widths[-1]}"
    if not bn:
        return f"main: entry Dense {entry.units} → {stack}"
    return f"main: entry Dense {entry.units} → BN → {stack}, each + BN"


def _bypass_text(widths: list[int | None], reg: str) -> str:
    if not widths:
        return f"bypass: {reg}, entry output carried around"
    return f"bypass: {reg} → Dense {widths} (each + {reg})"


def _units(nodes: list[Node], role: str | None = None) -> list[int | None]:
    """Widths of the Dense layers among ``nodes`` (those with ``role`` only, if given)."""
    return [n.units for n in nodes if n.op in DENSE_OPS and role in (None, n.role)]


def _draw_group_compact(g: DotWriter, spec: ModelSpec, parts: _Parts, run: tuple[int, int], index: int,
                        prev: str) -> str:
    """One node standing for blocks ``first``…``last`` (identical ones), as an HTML table.

    ``index``: the plan block index of the run's first block in ``parts`` (see :func:`_compact_parts`).
    """
    first, last = run
    block, nodes, count = spec.blocks[first], parts.blocks[index], last - first + 1
    entry = nodes[0]
    title = f"Block {first + 1}" if count == 1 else f"Blocks {first + 1}–{last + 1} (×{count} identical)"
    bad = not all(n.valid for n in nodes)
    rows = [
        (
            f"<B>{html_text(title)}</B>  [j={block.layers}, k={block.width}, l={block.decrement}]",
            INVALID_FILL if bad else "#ffffff",
        ),
        (html_text(_main_text(entry, _units(nodes, "main"), _bn(spec))), STYLES["main"].fill),
    ]
    if spec.residual:
        reg = _reg_label(next(n for n in nodes if n.role == "bypass"))
        main_out, by_out, total = _merge_sizes(parts, nodes[-1])
        rows += [(html_text(_bypass_text(_units(nodes, "bypass"), reg)), STYLES["bypass"].fill),
                 (html_text(f"concat {main_out} + {by_out} = {total}"), STYLES["merge"].fill)]
    else:
        rows.append((html_text("no bypass: the block ends at its main path"), STYLES["other"].fill))
    if bad:
        rows.append((html_text("⚠ a width is below 1: this block cannot be built"), INVALID_FILL))
    between = _units(parts.gaps.get(index, [])) if count > 1 else []
    if between:
        rows.append((html_text(f"between each: Dense {between}" + (", each + BN" if _bn(spec) else "")),
                     STYLES["other"].fill))
    cells = "".join(f'<TR><TD ALIGN="LEFT" BGCOLOR="{bg}">{text}</TD></TR>' for text, bg in rows)
    border = INVALID_COLOR if bad else "#555555"
    table = f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="{border}">{cells}</TABLE>>'
    what = (
        f"Residual block {first + 1}"
        if count == 1
        else (f"Residual blocks {first + 1} to {last + 1}: {count} identical blocks in a row, each")
    )
    tail = (f"a bypass that carries the entry output around them; and a Concatenate that joins both "
            f"({_size_text(nodes[-1].features)} units)." if spec.residual else "no bypass (residual connections off).")
    tooltip = (
        f"{what}: an entry Dense layer of {entry.units} units; a main path of {block.layers} "
        f"Dense layers shrinking by {block.decrement} units each"
        f"{', every one followed by batch normalisation' if _bn(spec) else ''}; {tail}"
    )
    node = g.node(table, tooltip, "block", f"blocks[{first}]", html_label=True)
    g.edge(prev, node)
    return node


def _draw_gap_compact(g: DotWriter, gap: int, nodes: list[Node], prev: str) -> str:
    """All between-block layers of one gap (after block ``gap``) as a single node."""
    layers = " → ".join(f"Dense {n.units}" if n.op in DENSE_OPS else _reg_label(n) for n in nodes)
    node = g.node(
        label("Between blocks", layers),
        f"Between blocks {gap + 1} and {gap + 2}: Dense layers {_units(nodes)}"
        f"{', each followed by batch normalisation' if any(n.op == 'batchnorm' for n in nodes) else ''}; "
        "the same layers sit in every gap between two blocks.",
        "other",
        "inter_block_layers",
        invalid=not all(n.valid for n in nodes),
    )
    g.edge(prev, node)
    return node


def _draw_blocks_compact(
    g: DotWriter, spec: ModelSpec, parts: _Parts, runs: list[tuple[int, int]], firsts: list[int], prev: str
) -> str:
    """One node per run of identical blocks, one per gap between runs; returns the last node."""
    for r, run in enumerate(runs):
        prev = _draw_group_compact(g, spec, parts, run, firsts[r], prev)
        gap = parts.gaps.get(firsts[r + 1] - 1) if r < len(runs) - 1 else None
        if gap:
            prev = _draw_gap_compact(g, run[1], gap, prev)
    return prev


def _draw_head(g: DotWriter, nodes: list[Node], prev: str) -> str:
    """Final Dense layers, their regularisers and the output layer."""

    def tip(n: int, node: Node) -> str:
        return (
            f"Final Dense layer {n + 1}: {node.units} units ({node.activation}), after the last "
            "block, narrowing the features down towards the output."
        )

    final = [n for n in nodes if n.role == "final"]
    prev = _draw_chain(g, final, prev, tip, "after a final Dense layer")
    for node in (n for n in nodes if n.role == "output" and n.op != "average"):
        prev_node, prev = prev, _draw_output(g, node)
        g.edge(prev_node, prev)
    return prev


def _draw_ensemble(g: DotWriter, members: int, prev: str, layout: str = "separate") -> None:
    """The mean over the ensemble's members (the drawing shows one member; all have its layers)."""
    where = {
        "packed": f"every Dense layer holds all members' weights (×{members}) and computes them at once, each member "
                  "with its own initial weights",
        "shared": "the members share every Dense layer and differ by their own scales of the features",
    }.get(layout, f"everything after the input exists {members} times, each member with its own initial weights")
    node = g.node(
        label("Average", f"of {members} members"),
        f"An ensemble: {where}, "
        "each member trained on its own loss; the prediction is the average of "
        "their outputs (a built-in GlobalAveragePooling1D over the stacked members).",
        "output",
        "ensemble",
        penwidth="1.6",
    )
    g.edge(prev, node)


def _draw_output(g: DotWriter, node: Node) -> str:
    """The output layer, or the rescaling that takes its numbers back to the target's units."""
    if node.op == "rescale":
        scale, offset = node.extra["scale"], node.extra["offset"]
        return g.node(
            label("Rescale", f"× {scale:.4g} + {offset:.4g}"),
            "Back to the target's own units: the network learns the target at mean 0 and spread 1, and this "
            "built-in Rescaling layer multiplies by the target's spread and adds its mean.",
            "output",
            node.path,
        )
    act = node.activation or ""
    return g.node(
        _dense_label(node),
        f"Output layer: {count(node.units, 'unit') if node.units is not None else 'units set by the data'}, "
        f"one per class or target; {_ACTIVATION_WORDS.get(act, act)}.",
        "output",
        node.path,
        penwidth="1.6",
    )


def _draw_legend(g: DotWriter, spec: ModelSpec, rankdir: str) -> None:
    """A cluster explaining the colours (a column beside the drawing)."""
    items: list[tuple[str, tuple[str, ...], str]] = [
        (
            "main",
            ("Main path", "(Dense + BN)" if _bn(spec) else "(Dense layers)"),
            "Blue: the main path of a block, a stack of Dense layers that shrink step by step"
            + (", each followed by batch normalisation." if _bn(spec) else "."),
        ),
        (
            "bypass",
            ("Bypass path", "(dashed arrows)"),
            "Orange: the bypass (skip) path, which carries a block's entry output around the main "
            "path, through a regulariser and optional small Dense layers.",
        ),
        (
            "merge",
            ("Merge", "(Concatenate)"),
            "Green: where main path and bypass meet; their units are put side by side.",
        ),
        ("other", ("Other layers",), "Grey: input, reshaping and the Dense layers between and after the blocks."),
    ]
    if not spec.residual:  # no bypass and no merge to explain
        items = [item for item in items if item[0] not in ("bypass", "merge")]
    if spec.base_model is not None:
        items.append(("base", ("Base model",), "Yellow: the pre-trained model in front."))
    items.append(("output", ("Output layer",), "Purple: the layer that gives the prediction."))
    g.open_cluster("cluster_legend", "Legend", "What the colours mean.")
    names = []
    for role, text, tip in items:
        style = STYLES[role]
        name = f"legend_{role}"
        names.append(name)
        g.emit(
            f'{name} [label={label(*text)}, tooltip={quote(tip)}, class="legend", '
            f'color="{style.color}", fillcolor="{style.fill}", fontsize=9];'
        )
    if rankdir in ("TB", "BT"):
        g.emit(" -> ".join(names) + " [style=invis];")
    else:
        g.emit("{rank=same; " + "; ".join(names) + ";}")
    g.close_cluster()


# ----------------------------------------------------------------------------- public API


def _pick_form(spec: ModelSpec, compact: bool | None) -> tuple[bool, list[Node] | None]:
    """Whether to draw the compact form (None: as :func:`auto_compact`), and the plan if it was made."""
    if compact is not None or len(spec.blocks) > COMPACT_MAX_BLOCKS:
        return compact is not False, None
    nodes = make_plan(spec, strict=False)
    return _drawn_count(nodes) > COMPACT_MAX_NODES, nodes


#: The longest line of the graph's title: a narrow drawing stays wider than its title in any browser font.
TITLE_LINE = 30


def _title_lines(parts: list[str]) -> list[str]:
    """The title's parts joined with " · " into lines of at most :data:`TITLE_LINE` characters."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= TITLE_LINE:
            lines[-1] += f" · {part}"
        else:
            lines.append(part)
    return lines


def _open_graph(g: DotWriter, spec: ModelSpec, compact: bool, rankdir: str, members: int = 1) -> None:
    """The graph's title line and its node and edge defaults."""
    n_blocks = len(spec.blocks)
    parts = [f"{n_blocks} residual block{'s' if n_blocks != 1 else ''}", str(spec.task),
             f"{spec.num_outputs} output{'s' if spec.num_outputs != 1 else ''}"]
    parts += ([f"ensemble of {members}"] if members > 1 else []) + (["compact view"] if compact else [])
    summary = " · ".join(parts)
    g.lines.append("digraph rmlp {")
    g.emit(
        f'graph [label={label(spec.name, *_title_lines(parts))}, labelloc=t, fontname="{_FONT}", '
        f"fontsize=14, rankdir={rankdir}, nodesep=0.25, ranksep=0.3, "
        f'tooltip={quote(f"Residual MLP {spec.name!r}: {summary}")}, id="name"];'
    )
    g.emit(
        f'node [shape=box, style="rounded,filled", fontname="{_FONT}", fontsize=11, '
        'height=0.3, margin="0.1,0.04", penwidth=1.2];'
    )
    g.emit(f'edge [fontname="{_FONT}", fontsize=9, arrowsize=0.7, color="{OTHER_COLOR}"];')


def to_dot(spec: ModelSpec | dict[str, Any], compact: bool | None = None, rankdir: str = "TB") -> str:
    """Graphviz DOT of a spec, drawn without Keras.

    ``compact``: None picks the compact form above :data:`COMPACT_MAX_BLOCKS` blocks or
    :data:`COMPACT_MAX_NODES` nodes; True/False force it. ``rankdir``: TB, LR, BT or RL.
    """
    if not isinstance(spec, ModelSpec):
        spec = ModelSpec.model_validate(spec)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}; got {rankdir!r}.")
    members = spec.ensemble
    if not spec.members_side_by_side():  # one member is drawn
        spec = spec.model_copy(update={"ensemble": 1})
    compact, nodes = _pick_form(spec, compact)
    g = DotWriter()
    _open_graph(g, spec, compact, rankdir, members)
    if compact:
        runs = _groups(spec.blocks)
        parts, firsts = _compact_parts(spec, runs)
        prev = _draw_blocks_compact(g, spec, parts, runs, firsts, _draw_front(g, spec, parts.front))
    else:
        parts = _split(nodes if nodes is not None else make_plan(spec, strict=False))
        prev = _draw_blocks_full(g, spec, parts, _draw_front(g, spec, parts.front))
    prev = _draw_head(g, parts.head, prev)
    if members > 1:
        _draw_ensemble(g, members, prev, spec.ensemble_layout)
    _draw_legend(g, spec, rankdir)
    g.lines.append("}")
    return "\n".join(g.lines) + "\n"
