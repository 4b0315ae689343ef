"""Spec -> Graphviz DOT, drawn the way a residual MLP is explained; no Keras needed.

:func:`to_dot` draws a spec: one ``cluster_blockN`` per residual block, the main path in blue,
the bypass in orange (dashed arrows), the Concatenate merge in green, and a legend. Every node
carries a plain-words ``tooltip`` (hover text for teaching) and, where it comes from a spec field,
an ``id`` holding that field's path (``blocks[1].width``; a second node from the same field gets
``blocks[1].width#2``, see :func:`field_path`). Large designs switch to a compact form with one
node per block, and one node per run of identical blocks.

:func:`model_to_dot` draws a built Keras model instead (Keras is imported inside it only).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from rmlp.base.info import BaseInfo, lookup
from rmlp.spec.model import BaseModelSpec, BlockSpec, ModelSpec

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

#: Border/arrow colour of the main path (blue).
MAIN_COLOR = "#1f5fa8"
#: Border/arrow colour of the bypass path (orange).
BYPASS_COLOR = "#d9730d"
#: Border colour of the Concatenate merge (green).
MERGE_COLOR = "#2e8b3e"
OTHER_COLOR = "#6b6b6b"
BASE_COLOR = "#9a7b00"
OUTPUT_COLOR = "#6a3d9a"
INVALID_COLOR = "#c62828"
INVALID_FILL = "#f9d6d5"

#: The compact form is used automatically above this many blocks ...
COMPACT_MAX_BLOCKS = 8
#: ... or above this many nodes in the full form.
COMPACT_MAX_NODES = 150

_RANKDIRS = ("TB", "LR", "BT", "RL")
_FONT = "Helvetica"


@dataclass(frozen=True)
class _Style:
    color: str
    fill: str
    light: str  # fill of regulariser nodes (BN / Dropout)


_STYLES: dict[str, _Style] = {
    "main": _Style(MAIN_COLOR, "#cfe2f7", "#eaf2fb"),
    "bypass": _Style(BYPASS_COLOR, "#fdd9b5", "#fff0e0"),
    "merge": _Style(MERGE_COLOR, "#cdebd3", "#cdebd3"),
    "other": _Style(OTHER_COLOR, "#e9e9e9", "#f6f6f6"),
    "base": _Style(BASE_COLOR, "#fff1bf", "#fff1bf"),
    "output": _Style(OUTPUT_COLOR, "#e4d9f1", "#e4d9f1"),
}

_EDGE_ATTRS: dict[str, str] = {
    "main": f'color="{MAIN_COLOR}", penwidth=1.6, weight=8, tooltip="main path"',
    "bypass": f'color="{BYPASS_COLOR}", penwidth=1.6, style=dashed, weight=1, tooltip="bypass path"',
    "other": f'color="{OTHER_COLOR}", weight=4',
}

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

# ----------------------------------------------------------------------------- escaping

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _esc(text: object) -> str:
    """Text made safe inside a double-quoted DOT string, shown literally."""
    return _CONTROL.sub(" ", str(text)).replace("\\", "\\\\").replace('"', '\\"')


def _q(text: object) -> str:
    """A double-quoted DOT string."""
    return f'"{_esc(text)}"'


def _label(*lines: object) -> str:
    """A quoted DOT label with one (escaped) line per argument."""
    return '"' + "\\n".join(_esc(line) for line in lines) + '"'


def _h(text: object) -> str:
    """Text made safe inside an HTML-like label."""
    return html.escape(_CONTROL.sub(" ", str(text)), quote=True)


def field_path(node_id: str) -> str:
    """The spec field path of a node ``id`` (``blocks[1].width#2`` -> ``blocks[1].width``)."""
    return node_id.split("#", 1)[0]


def _control_hint(path: str) -> str:
    """' Set with “<widget label>”.' for a field path, or '' when the path is unknown."""
    from rmlp.spec.edit import field_meta

    try:
        return f" Set with “{field_meta(path).label}”."
    except KeyError:
        return ""


# ----------------------------------------------------------------------------- DOT writer


class _Dot:
    """Collects DOT lines; names nodes n0, n1, ... and keeps node ids unique."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.count = 0
        self._ids: dict[str, int] = {}
        self._hints: dict[str, str] = {}

    def emit(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def _unique_id(self, path: str) -> str:
        seen = self._ids.get(path, 0) + 1
        self._ids[path] = seen
        return path if seen == 1 else f"{path}#{seen}"

    def _hint(self, path: str) -> str:
        key = re.sub(r"\[\d+\]", "[]", path)
        if key not in self._hints:
            self._hints[key] = _control_hint(path)
        return self._hints[key]

    def node(
        self,
        label: str,
        tooltip: str,
        role: str,
        field: str | None,
        *,
        reg: bool = False,
        invalid: bool = False,
        html_label: bool = False,
        **extra: str,
    ) -> str:
        """Write one node; ``label`` is already quoted (or ``<...>``); returns its name."""
        name = f"n{self.count}"
        self.count += 1
        if field:
            tooltip += self._hint(field)
        attrs = [f"label={label}", f"tooltip={_q(tooltip)}"]
        if field:
            attrs.append(f"id={_q(self._unique_id(field))}")
        attrs.append(f'class="{role}"')
        if html_label:
            attrs.append('shape=plaintext, style="", margin=0')
        else:
            style = _STYLES[role]
            if invalid:
                attrs.append(f'color="{INVALID_COLOR}", fillcolor="{INVALID_FILL}", penwidth=2.2')
            else:
                attrs.append(f'color="{style.color}", fillcolor="{style.light if reg else style.fill}"')
            if reg:
                attrs.append('fontsize=9, height=0.22, margin="0.06,0.02"')
        attrs.extend(f"{key}={_q(value)}" for key, value in extra.items())
        self.emit(f"{name} [{', '.join(attrs)}];")
        return name

    def edge(self, tail: str, head: str, role: str = "other") -> None:
        self.emit(f"{tail} -> {head} [{_EDGE_ATTRS[role]}];")

    def open_cluster(self, name: str, label: str, tooltip: str, field: str | None = None) -> None:
        self.emit(f"subgraph {name} {{")
        self.depth += 1
        self.emit(f"label={_q(label)};")
        self.emit(f"tooltip={_q(tooltip)};")
        if field:
            self.emit(f"id={_q(self._unique_id(field))};")
        self.emit('style="rounded,dashed"; color="#9a9a9a"; fontsize=11; labeljust=l;')

    def close_cluster(self) -> None:
        self.depth -= 1
        self.emit("}")


# ----------------------------------------------------------------------------- helpers


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "×".join(str(d) for d in shape) if shape else "?"


def _reg_label(kind: str, rate: float) -> str:
    return f"Dropout {rate:g}" if kind == "dropout" else "BN"


def _reg_tooltip(kind: str, rate: float, where: str) -> str:
    if kind == "dropout":
        return (
            f"Dropout {where}: during training it switches off a random {rate:.0%} of the units "
            "at every step, so the network cannot lean on any single one. Does nothing at "
            "prediction time."
        )
    return (
        f"Batch normalisation {where}: rescales every unit to zero mean and unit variance over "
        "the batch, then learns its own scale and shift; it keeps training stable."
    )


def _main_out(block: BlockSpec) -> int:
    widths = block.main_widths()
    return widths[-1] if widths else block.width


def _bypass_out(block: BlockSpec) -> int:
    return block.bypass[-1] if block.bypass else block.width


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


def _base_info(base: BaseModelSpec | None) -> BaseInfo | None:
    try:
        return lookup(base)
    except (OSError, ValueError):
        return None


def _shows_preprocess(base: BaseModelSpec, info: BaseInfo | None) -> bool:
    return base.preprocess and not (info is not None and info.preprocess == "none")


def full_node_count(spec: ModelSpec) -> int:
    """Nodes of the full drawing (legend left out), counted without drawing."""
    count = 1 + int(spec.grayscale_to_rgb) + int(spec.flatten)
    if spec.base_model is not None:
        count += 2 + int(_shows_preprocess(spec.base_model, _base_info(spec.base_model)))
    for block in spec.blocks:
        count += 4 + 2 * max(block.layers, 0) + 2 * len(block.bypass)
    count += max(len(spec.blocks) - 1, 0) * 2 * len(spec.inter_block_layers)
    count += 2 * len(spec.final_layers) + 1
    return count


def auto_compact(spec: ModelSpec) -> bool:
    """Whether :func:`to_dot` picks the compact form by itself for this spec."""
    return len(spec.blocks) > COMPACT_MAX_BLOCKS or full_node_count(spec) > COMPACT_MAX_NODES


# ----------------------------------------------------------------------------- drawing parts


def _draw_front(g: _Dot, spec: ModelSpec) -> str:
    """Input, grayscale conversion, base model and flatten; returns the last node."""
    shape: tuple[int, ...] | None = tuple(spec.input_shape)
    last = g.node(
        _label("Input", _shape_text(shape)),
        f"The input: one example of shape {_shape_text(shape)} (the batch axis is not shown).",
        "other",
        "input_shape",
    )
    if spec.grayscale_to_rgb:
        if shape is not None and len(shape) == 3:
            shape = (shape[0], shape[1], 3)
        node = g.node(
            _label("Grayscale → RGB", _shape_text(shape)),
            "Repeats the single grey channel three times, because pre-trained image models "
            "expect three colour channels.",
            "other",
            "grayscale_to_rgb",
        )
        g.edge(last, node)
        last = node
    if spec.base_model is not None:
        last, shape = _draw_base(g, spec.base_model, last, shape)
    if spec.flatten:
        lines = ["Flatten", f"→ {math.prod(shape)}"] if shape else ["Flatten"]
        node = g.node(
            _label(*lines),
            "Flattens each example into one long vector, because the blocks concatenate along "
            "the feature axis and need one number per feature.",
            "other",
            "flatten",
        )
        g.edge(last, node)
        last = node
    return last


def _draw_base(
    g: _Dot, base: BaseModelSpec, last: str, shape: tuple[int, ...] | None
) -> tuple[str, tuple[int, ...] | None]:
    """Resizing, the family's preprocessing and the base model itself."""
    info = _base_info(base)
    size = tuple(base.input_size) if base.input_size else (info.default_size if info else None)
    channels = shape[2] if shape is not None and len(shape) == 3 else None
    if size is not None and len(size) == 2:
        shape = (size[0], size[1], channels) if channels else None
        size_text = f"{size[0]}×{size[1]}"
    else:
        shape, size_text = None, "model's size"
    node = g.node(
        _label("Resizing", size_text),
        f"Resizes every image to {size_text}, the input size the base model works at.",
        "other",
        "base_model.input_size",
    )
    g.edge(last, node)
    last = node
    if _shows_preprocess(base, info):
        family = info.preprocess if info else ""
        words = _PREPROCESS_WORDS.get(family, "family's own")
        node = g.node(
            _label("Preprocess", words),
            "Applies the base model family's own input preprocessing (scaling, channel order, "
            "mean), as its pre-trained weights expect pixels prepared this way.",
            "other",
            "base_model.preprocess",
        )
        g.edge(last, node)
        last = node
    if base.source == "applications":
        name, field = base.name, "base_model.name"
        detail = [f"pooling {base.pooling}"]
    else:
        name, field = (PurePath(base.path).name or "(no file chosen)"), "base_model.path"
        detail = [f"cut at {base.cut_layer}"] if base.cut_layer else []
    weights = "ImageNet weights" if base.weights == "imagenet" else "random weights"
    if base.trainable_layers <= 0:
        trainable = "frozen"
    elif base.trainable_layers == 1:
        trainable = "last layer trains"
    else:
        trainable = f"last {base.trainable_layers} layers train"
    out: tuple[int, ...] | None = None
    if info is not None:
        if info.fixed_output_shape is not None:
            out = tuple(info.fixed_output_shape)
        elif size is not None and len(size) == 2:
            out = info.output_shape(size[0], size[1], base.pooling)
    lines = [name, weights, *detail, trainable]
    if out is not None:
        lines.append(f"→ {_shape_text(out)}")
    where = base.name if base.source == "applications" else (base.path or "a .keras file")
    node = g.node(
        _label(*lines),
        f"Pre-trained base model {where}: turns each image into features that the residual "
        f"MLP learns from ({weights}, {trainable}).",
        "base",
        field,
        shape="box3d",
        style="filled",
    )
    g.edge(last, node)
    return node, out


def _draw_block_full(g: _Dot, spec: ModelSpec, i: int, block: BlockSpec, prev: str) -> str:
    """One block as a cluster: entry, main path, bypass, merge; returns the merge node."""
    act = spec.activation
    path = f"blocks[{i}]"
    group = f"main{i}"
    g.open_cluster(
        f"cluster_block{i}",
        f"Block {i + 1}   [j={block.layers}, k={block.width}, l={block.decrement}]",
        f"Residual block {i + 1}: the entry output runs down the main path of shrinking Dense "
        "layers and, unchanged or through a few small layers, around it on the bypass; the "
        "two ends are concatenated side by side.",
        path,
    )
    entry = g.node(
        _label(f"Dense {block.width}", act),
        f"Entry layer of block {i + 1}: a Dense layer with {block.width} units and {act} "
        "activation. Its output goes two ways: down the main path and around it on the bypass.",
        "main",
        f"{path}.width",
        invalid=block.width < 1,
        group=group,
    )
    last = g.node(
        _label("BN"),
        _reg_tooltip("batchnorm", 0.0, "at the start of the main path"),
        "main",
        f"{path}.layers",
        reg=True,
        group=group,
    )
    g.edge(entry, last, "main")
    for m, width in enumerate(block.main_widths()):
        tip = f"Main-path Dense layer {m + 1} of {block.layers} in block {i + 1}: {width} units, {act}."
        if m > 0:
            tip += f" Each layer has {block.decrement} units fewer than the one before (k − {m}·l)."
        if width < 1:
            tip += (
                " This width is below 1, so the block cannot be built: lower the decrement (l) "
                "or the number of layers (j), or raise the first width (k)."
            )
        dense = g.node(
            _label(f"Dense {width}", act),
            tip,
            "main",
            f"{path}.width" if m == 0 else f"{path}.decrement",
            invalid=width < 1,
            group=group,
        )
        g.edge(last, dense, "main")
        last = g.node(
            _label("BN"),
            _reg_tooltip("batchnorm", 0.0, "after a main-path Dense layer"),
            "main",
            f"{path}.layers",
            reg=True,
            group=group,
        )
        g.edge(dense, last, "main")

    kind, rate = spec.bypass_regularizer, spec.bypass_dropout
    reg_field = "bypass_dropout" if kind == "dropout" else "bypass_regularizer"
    by = g.node(
        _label(_reg_label(kind, rate)),
        _reg_tooltip(kind, rate, "on the bypass, right after the fork"),
        "bypass",
        reg_field,
        reg=True,
    )
    g.edge(entry, by, "bypass")
    for n, width in enumerate(block.bypass):
        dense = g.node(
            _label(f"Dense {width}", act),
            f"Bypass Dense layer {n + 1} of block {i + 1}: {width} units, {act}. It reshapes what "
            "the bypass carries around the main path.",
            "bypass",
            f"{path}.bypass[{n}]",
            invalid=width < 1,
        )
        g.edge(by, dense, "bypass")
        by = g.node(
            _label(_reg_label(kind, rate)),
            _reg_tooltip(kind, rate, "after a bypass Dense layer"),
            "bypass",
            reg_field,
            reg=True,
        )
        g.edge(dense, by, "bypass")

    main_out, by_out = _main_out(block), _bypass_out(block)
    merge = g.node(
        _label("Concatenate", f"{main_out} + {by_out} = {main_out + by_out}"),
        f"Merge of block {i + 1}: puts the main path's {main_out} units and the bypass's "
        f"{by_out} units side by side ({main_out + by_out} units). It concatenates, it does "
        "not add, so the width grows.",
        "merge",
        path,
        group=group,
        penwidth="1.6",
    )
    g.edge(last, merge, "main")
    g.edge(by, merge, "bypass")
    g.close_cluster()
    # Outside the cluster: an edge written inside one would pull ``prev`` into it.
    g.edge(prev, entry)
    return merge


def _draw_inter_full(g: _Dot, spec: ModelSpec, gap: int, prev: str) -> str:
    """The between-block layers at one gap (after block ``gap``)."""
    for n, width in enumerate(spec.inter_block_layers):
        dense = g.node(
            _label(f"Dense {width}", spec.activation),
            f"Between blocks {gap + 1} and {gap + 2}: a Dense layer with {width} units "
            f"({spec.activation}); the same layers sit in every gap between two blocks.",
            "other",
            f"inter_block_layers[{n}]",
            invalid=width < 1,
        )
        g.edge(prev, dense)
        prev = g.node(
            _label("BN"),
            _reg_tooltip("batchnorm", 0.0, "between blocks"),
            "other",
            "inter_block_layers",
            reg=True,
        )
        g.edge(dense, prev)
    return prev


def _main_text(block: BlockSpec) -> str:
    widths = block.main_widths()
    if not widths:
        stack = "no Dense layers"
    elif len(widths) == 1:
        stack = f"Dense {widths[0]}"
    elif block.decrement == 0:
        stack = f"{len(widths)}×Dense {widths[0]}"
    else:
        stack = f"{len(widths)}×Dense {widths[0]}…{widths[-1]}"
    return f"main: entry Dense {block.width} → BN → {stack}, each + BN"


def _bypass_text(block: BlockSpec, reg: str) -> str:
    if not block.bypass:
        return f"bypass: {reg}, entry output carried around"
    return f"bypass: {reg} → Dense {block.bypass} (each + {reg})"


def _draw_group_compact(g: _Dot, spec: ModelSpec, first: int, last: int, prev: str) -> str:
    """One node standing for blocks ``first``…``last`` (identical ones), as an HTML table."""
    block = spec.blocks[first]
    count = last - first + 1
    title = f"Block {first + 1}" if count == 1 else f"Blocks {first + 1}–{last + 1} (×{count} identical)"
    reg = _reg_label(spec.bypass_regularizer, spec.bypass_dropout)
    main_out, by_out = _main_out(block), _bypass_out(block)
    widths = block.main_widths()
    bad = min([block.width, *widths, *block.bypass]) < 1
    rows = [
        (
            f"<B>{_h(title)}</B>  [j={block.layers}, k={block.width}, l={block.decrement}]",
            INVALID_FILL if bad else "#ffffff",
        ),
        (_h(_main_text(block)), _STYLES["main"].fill),
        (_h(_bypass_text(block, reg)), _STYLES["bypass"].fill),
        (_h(f"concat {main_out} + {by_out} = {main_out + by_out}"), _STYLES["merge"].fill),
    ]
    if bad:
        rows.append((_h("⚠ a width is below 1: this block cannot be built"), INVALID_FILL))
    if count > 1 and spec.inter_block_layers:
        rows.append((_h(f"between each: Dense {spec.inter_block_layers}, each + BN"), _STYLES["other"].fill))
    cells = "".join(f'<TR><TD ALIGN="LEFT" BGCOLOR="{bg}">{text}</TD></TR>' for text, bg in rows)
    border = INVALID_COLOR if bad else "#555555"
    label = f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="{border}">{cells}</TABLE>>'
    what = (
        f"Residual block {first + 1}"
        if count == 1
        else (f"Residual blocks {first + 1} to {last + 1}: {count} identical blocks in a row, each")
    )
    tooltip = (
        f"{what}: an entry Dense layer of {block.width} units; a main path of {block.layers} "
        f"Dense layers shrinking by {block.decrement} units each, every one followed by batch "
        f"normalisation; a bypass that carries the entry output around them; and a "
        f"Concatenate that joins both ({main_out + by_out} units)."
    )
    node = g.node(label, tooltip, "block", f"blocks[{first}]", html_label=True)
    g.edge(prev, node)
    return node


def _draw_inter_compact(g: _Dot, spec: ModelSpec, gap: int, prev: str) -> str:
    """All between-block layers of one gap as a single node."""
    parts = " → ".join(f"Dense {w} → BN" for w in spec.inter_block_layers)
    node = g.node(
        _label("Between blocks", parts),
        f"Between blocks {gap + 1} and {gap + 2}: Dense layers {spec.inter_block_layers}, each "
        "followed by batch normalisation; the same layers sit in every gap between two blocks.",
        "other",
        "inter_block_layers",
        invalid=min(spec.inter_block_layers) < 1,
    )
    g.edge(prev, node)
    return node


def _draw_head(g: _Dot, spec: ModelSpec, prev: str) -> None:
    """Final Dense layers, their regularisers and the output layer."""
    kind, rate = spec.final_regularizer, spec.final_dropout
    reg_field = "final_dropout" if kind == "dropout" else "final_regularizer"
    for n, width in enumerate(spec.final_layers):
        dense = g.node(
            _label(f"Dense {width}", spec.activation),
            f"Final Dense layer {n + 1}: {width} units ({spec.activation}), after the last "
            "block, narrowing the features down towards the output.",
            "other",
            f"final_layers[{n}]",
            invalid=width < 1,
        )
        g.edge(prev, dense)
        prev = g.node(
            _label(_reg_label(kind, rate)),
            _reg_tooltip(kind, rate, "after a final Dense layer"),
            "other",
            reg_field,
            reg=True,
        )
        g.edge(dense, prev)
    act = spec.resolved_output_activation()
    out = g.node(
        _label(f"Dense {spec.num_outputs}", act),
        f"Output layer: {spec.num_outputs} unit(s), one per class or target; {_ACTIVATION_WORDS.get(act, act)}.",
        "output",
        "num_outputs",
        penwidth="1.6",
    )
    g.edge(prev, out)


def _draw_legend(g: _Dot, spec: ModelSpec, rankdir: str) -> None:
    """A cluster explaining the colours (a column beside the drawing)."""
    items: list[tuple[str, tuple[str, ...], str]] = [
        (
            "main",
            ("Main path", "(Dense + BN)"),
            "Blue: the main path of a block, a stack of Dense layers that shrink step by step, "
            "each followed by batch normalisation.",
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
    if spec.base_model is not None:
        items.append(("base", ("Base model",), "Yellow: the pre-trained model in front."))
    items.append(("output", ("Output layer",), "Purple: the layer that gives the prediction."))
    g.open_cluster("cluster_legend", "Legend", "What the colours mean.")
    names = []
    for role, text, tip in items:
        style = _STYLES[role]
        name = f"legend_{role}"
        names.append(name)
        g.emit(
            f'{name} [label={_label(*text)}, tooltip={_q(tip)}, class="legend", '
            f'color="{style.color}", fillcolor="{style.fill}", fontsize=9];'
        )
    if rankdir in ("TB", "BT"):
        g.emit(" -> ".join(names) + " [style=invis];")
    else:
        g.emit("{rank=same; " + "; ".join(names) + ";}")
    g.close_cluster()


# ----------------------------------------------------------------------------- public API


def to_dot(spec: ModelSpec | dict[str, Any], compact: bool | None = None, rankdir: str = "TB") -> str:
    """Graphviz DOT of a spec, drawn without Keras.

    ``compact``: None picks the compact form above :data:`COMPACT_MAX_BLOCKS` blocks or
    :data:`COMPACT_MAX_NODES` nodes; True/False force it. ``rankdir``: TB, LR, BT or RL.
    """
    if not isinstance(spec, ModelSpec):
        spec = ModelSpec.model_validate(spec)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}; got {rankdir!r}.")
    if compact is None:
        compact = auto_compact(spec)
    n_blocks = len(spec.blocks)
    summary = (
        f"{n_blocks} residual block{'s' if n_blocks != 1 else ''} · {spec.task} · "
        f"{spec.num_outputs} output{'s' if spec.num_outputs != 1 else ''}" + (" · compact view" if compact else "")
    )
    g = _Dot()
    g.lines.append("digraph rmlp {")
    g.emit(
        f'graph [label={_label(spec.name, summary)}, labelloc=t, fontname="{_FONT}", '
        f"fontsize=14, rankdir={rankdir}, nodesep=0.25, ranksep=0.3, "
        f'tooltip={_q(f"Residual MLP {spec.name!r}: {summary}")}, id="name"];'
    )
    g.emit(
        f'node [shape=box, style="rounded,filled", fontname="{_FONT}", fontsize=11, '
        'height=0.3, margin="0.1,0.04", penwidth=1.2];'
    )
    g.emit(f'edge [fontname="{_FONT}", fontsize=9, arrowsize=0.7, color="{OTHER_COLOR}"];')

    prev = _draw_front(g, spec)
    if compact:
        runs = _groups(spec.blocks)
        for r, (first, last) in enumerate(runs):
            prev = _draw_group_compact(g, spec, first, last, prev)
            if r < len(runs) - 1 and spec.inter_block_layers:
                prev = _draw_inter_compact(g, spec, last, prev)
    else:
        for i, block in enumerate(spec.blocks):
            prev = _draw_block_full(g, spec, i, block, prev)
            if i < n_blocks - 1:
                prev = _draw_inter_full(g, spec, i, prev)
    _draw_head(g, spec, prev)
    _draw_legend(g, spec, rankdir)
    g.lines.append("}")
    return "\n".join(g.lines) + "\n"
