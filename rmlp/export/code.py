"""The layer plan as code fragments: every value a literal, every user string through ``repr``.

:func:`model_code_data` turns the plan (:func:`rmlp.design.plan.make_plan`) into the plain data the
model template arranges; the metrics and the optimizer come from the same tables the Keras
builder uses, so the exported script compiles exactly the model :func:`rmlp.build_model` builds.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from textwrap import wrap
from typing import Any

from rmlp.base.info import BaseInfo, lookup
from rmlp.design.plan import Node, Op, make_plan
from rmlp.design.summary import summarize
from rmlp.keras.build import base_info_for, check_buildable, keras_model_name
from rmlp.keras.layer_defs import LAYER_DEFS, Initializer, LayerCall, LayerDef, layer_call, preprocess_layer
from rmlp.keras.losses import loss_def
from rmlp.keras.metrics import metric_defs
from rmlp.keras.optimizers import optimizer_kwargs
from rmlp.spec.model import OPTIMIZERS, ModelSpec
from rmlp.spec.units import count, human_count

__all__ = ["Code", "ExportError", "call", "comment", "lit", "model_code_data", "raw_json"]


class ExportError(ValueError):
    """Code that cannot be generated (or that would not be valid Python), in plain words."""


class Code(str):
    """A code fragment made here (never from user text), written as it is."""


def lit(value: Any) -> str:
    """A Python literal for a plain value (str, number, bool, None, list/tuple of these)."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        if text in ("nan", "inf", "-inf"):
            raise ExportError(f"The value {text} cannot be written as a Python literal.")
        return text
    raise ExportError(f"Cannot write a {type(value).__name__} as a Python literal.")


def call(func: str, *args: Any, **kwargs: Any) -> str:
    """``func(args..., key=value...)`` with every argument written as a literal."""
    parts = [lit(a) for a in args] + [f"{k}={lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def write_call(defined: LayerCall) -> str:
    """A call of the layer table (:mod:`rmlp.keras.layer_defs`) as code: ``layers.X(...)``, or the bare
    ``keras.ops`` function."""
    if defined.is_op:
        return f"keras.{defined.func}"
    written = {k: Code(call(f"keras.initializers.{v.name}", *v.args, **v.config)) if isinstance(v, Initializer) else v
               for k, v in defined.kwargs.items()}
    return call(defined.func, *defined.args, **written)


def preprocess_call(family: str, name: str) -> str:
    """A base-model family's preprocessing layer from the layer table (:func:`preprocess_layer`), as code."""
    try:
        return write_call(preprocess_layer(family, name))
    except ValueError as exc:
        raise ExportError(str(exc)) from None


def raw_json(data: Any) -> str:
    """A raw triple-quoted string holding ``data`` as JSON (``'`` escaped, so it cannot close)."""
    text = json.dumps(data, indent=2, ensure_ascii=True).replace("'", "\\u0027")
    return "r'''\n" + text + "\n'''"


def _identifier(name: str, taken: set[str]) -> str:
    """A fresh Python identifier made from a layer name."""
    ident = re.sub(r"\W", "_", name, flags=re.ASCII)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident) or not ident.isidentifier():
        ident = f"t_{ident}"
    base, n = ident, 2
    while ident in taken or ident in _RESERVED:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


_RESERVED = {"keras", "layers", "model", "base_model", "layer", "np", "pd", "json", "sys", "Path",
             "MODEL_NAME", "INPUT_SHAPE"}

_ROLE_VARS = {"input": "x", "base": "x", "entry": "entry", "main": "main", "bypass": "bypass",
              "merge": "x", "inter": "x", "final": "x", "head": "x", "output": "outputs"}

#: Ops whose output is read beside another's (the embedding's sines and cosines), so each has its own name.
_OP_VARS: dict[Op, str] = {"sin": "sines", "cos": "cosines"}


def _variables(nodes: list[Node]) -> dict[str, str]:
    """The tensor variable of each node: readable role names (x, entry, main, bypass) when every
    input is still held by its variable when it is used, else one variable per layer."""
    names = {n.name: ("inputs" if n.op == "input" else _OP_VARS.get(n.op) or _ROLE_VARS.get(n.role, "x"))
             for n in nodes}
    holding: dict[str, str] = {}
    ok = True
    for node in nodes:
        if any(holding.get(names[i]) != i for i in node.inputs):
            ok = False
            break
        holding[names[node.name]] = node.name
    if ok:
        return names
    taken: set[str] = set()
    return {n.name: _identifier(n.name, taken) for n in nodes}


@dataclass
class _Statement:
    lines: list[str]
    comments: list[str] = field(default_factory=list)
    blank: bool = False


def comment(text: str) -> str:
    """A one-line comment text (no newline can slip through)."""
    return " ".join(str(text).split())


def _layer_call(node: Node) -> str:
    """The node's layer as code (every op but the input and the base model), from its row of the layer table."""
    try:
        return write_call(layer_call(node))
    except ValueError as exc:
        raise ExportError(str(exc)) from None


def _applied(row: LayerDef, sources: list[str]) -> str:
    """What a layer is applied to, as code: a variable, or a list of them (:meth:`LayerDef.arguments`)."""
    args = row.arguments(sources)
    return f"[{', '.join(args)}]" if isinstance(args, list) else args


def _freeze_lines(trainable_layers: int) -> list[str]:
    """Freezing as rmlp.base.make does it: all but the last ``trainable_layers`` layers."""
    if trainable_layers <= 0:
        return ["base_model.trainable = False  # the whole base model stays frozen"]
    return [f"for layer in base_model.layers[:-{trainable_layers}]:  "
            f"# only the last {trainable_layers} layer{'s' if trainable_layers != 1 else ''} train",
            "    layer.trainable = False"]


def _base_lines(spec: ModelSpec, node: Node, src: str, out: str, constants: list[dict[str, str]]) -> list[str]:
    """Lines that create, freeze and apply the base model (as rmlp.base.make.make_base)."""
    bm = spec.base_model
    assert bm is not None
    lines: list[str] = []
    n = int(bm.trainable_layers)
    if bm.source == "applications":
        if not bm.name.isidentifier():
            raise ExportError(f"{bm.name!r} is not a keras.applications model.")
        h, w = node.extra["input_shape"][:2]
        pooling = None if bm.pooling == "none" else bm.pooling
        weights = None if bm.weights == "none" else "imagenet"
        constants.append({"name": "BASE_WEIGHTS", "value": lit(weights),
                          "comment": "'imagenet' downloads the pre-trained weights once; None: random weights"})
        lines.append(f"base_model = keras.applications.{bm.name}(include_top=False, weights=BASE_WEIGHTS, "
                     f"input_shape={lit((int(h), int(w), 3))}, pooling={lit(pooling)})")
    else:
        constants.append({"name": "BASE_MODEL_PATH", "value": lit(bm.path), "comment": ""})
        lines.append("base_model = keras.saving.load_model(BASE_MODEL_PATH, safe_mode=True, compile=False)")
        if bm.cut_layer:
            constants.append({"name": "CUT_LAYER", "value": lit(bm.cut_layer),
                              "comment": "the layer whose output feeds the residual MLP"})
            lines.append("base_model = keras.Model(base_model.inputs, base_model.get_layer(CUT_LAYER).output, "
                         'name=f"{base_model.name}_cut")')
    lines += _freeze_lines(n)
    lines.append(f"{out} = base_model({src})")
    return lines


def _units_text(units: int | None) -> str:
    return count(units, "unit") if units is not None else "units set by the data"


def _block_comment(spec: ModelSpec, i: int) -> list[str]:
    b = spec.blocks[i]
    widths = ", ".join(str(w) for w in b.main_widths())
    bypass = f"Dense {list(b.bypass)} with " if b.bypass else ""
    reg = f"dropout {spec.bypass_dropout:g}" if spec.bypass_regularizer == "dropout" else "batch normalisation"
    bn = spec.normalization == "batchnorm"
    head = [f"Residual block {i + 1} [{b.layers}, {b.width}, {b.decrement}]: entry Dense({b.width}),",
            f"main path Dense widths {widths}{' (each with batch normalisation)' if bn else ''},"]
    if not spec.residual:
        return [*head, "no bypass (residual connections off): the block ends at its main path."]
    return [*head, f"bypass: {bypass}{reg}; the two paths are concatenated."]


def _resolve_info(spec: ModelSpec, info: BaseInfo | None) -> BaseInfo | None:
    if spec.base_model is None or info is not None:
        return info
    found = lookup(spec.base_model)
    if found is None and spec.base_model.source == "file":
        found = base_info_for(spec)  # inspects the file (imports Keras)
    if found is None:
        raise ExportError(f"The base model {spec.base_model.name!r} is not known; inspect it first.")
    return found


def model_code_data(spec: ModelSpec | dict, info: BaseInfo | None = None) -> dict[str, Any]:
    """The plain data the model template renders: code fragments made from the layer plan."""
    spec = check_buildable(spec)
    info = _resolve_info(spec, info)
    nodes = make_plan(spec, info)
    by_name = {n.name: n for n in nodes}
    for node in nodes:
        if node.op == "base":
            node.extra = {**node.extra, "input_shape": by_name[node.inputs[0]].shape}
    var = _variables(nodes)
    constants: list[dict[str, str]] = []
    statements: list[_Statement] = []
    last_block: tuple[Any, Any] | None = None
    in_final = False
    for node in nodes:
        out = var[node.name]
        row = LAYER_DEFS[node.op]
        if row.kind == "input":
            statements.append(_Statement([f"{out} = keras.Input(shape=INPUT_SHAPE, name={lit(node.name)})"]))
            continue
        src = ", ".join(var[i] for i in node.inputs)
        st = _Statement([])
        member = node.extra.get("member")
        if node.role == "entry" and (node.block, member) != last_block:
            last_block = (node.block, member)
            st.blank, st.comments = True, _block_comment(spec, int(node.block or 0))
            if member is not None and node.block == 0:
                st.comments = [f"Ensemble member {member + 1} of {spec.ensemble}: its own copy of every layer "
                               "below.", *st.comments]
        elif node.role == "inter" and node.name.endswith("_dense1"):
            gap = int(last_block[0] or 0) + 1 if last_block else 1
            st.blank, st.comments = True, [f"Between blocks {gap} and {gap + 1}: Dense + batch normalisation."]
        elif node.role == "final" and not in_final:
            in_final = True
            reg = ("dropout " + f"{spec.final_dropout:g}" if spec.final_regularizer == "dropout"
                   else "batch normalisation")
            st.blank, st.comments = True, [f"Final Dense layers, each followed by {reg}."]
        elif node.op == "repeat" and spec.ensemble_layout == "shared":
            st.blank, st.comments = True, [
                f"A shared-weight ensemble of {spec.ensemble} members: the features once per member, each member's "
                "own scale of every feature, then every Dense layer below is one layer for all members."]
        elif node.op == "repeat":
            st.blank, st.comments = True, [
                f"A packed ensemble of {spec.ensemble} members: the features once per member, then every layer "
                "below computes all members at once (an EinsumDense over the member axis, its own weights per "
                "member)."]
        elif node.op == "periodic":
            st.blank, st.comments = True, [
                "Periodic embedding of every feature: learned frequencies, their sine and cosine, and a linear "
                "layer of its own per feature with ReLU."]
        elif node.op == "bins":
            st.blank, st.comments = True, [
                "Piecewise-linear embedding of every feature: its position in each of its bins (fixed weights, "
                "set from the training rows' quantiles by set_bins), clipped to [0, 1], and a linear layer of its "
                "own per feature with ReLU."]
        elif node.op == "feature_scale":
            st.blank, st.comments = True, [
                "Learned feature scales: every value times a factor of its own (the kernel), starting at 1."]
        elif node.op == "stack":
            st.blank, st.comments = True, ["The members' outputs side by side (training fits each on its own loss)."]
        elif node.op == "average":
            st.comments = ["The prediction: the average of the members."]
        elif node.op == "rescale":
            st.comments = ["Back to the target's units: the network learns the target at mean 0 and spread 1."]
        elif node.role == "output":
            st.blank, st.comments = True, [f"Output: {_units_text(node.units)}, {node.activation} activation."]
        elif node.op == "resize":
            st.blank, st.comments = True, ["Base model: images are resized to its input size first."]
        elif node.op == "gray_to_rgb":
            st.comments = ["Grayscale to RGB: the single channel is repeated three times."]
        elif node.op == "preprocess":
            st.comments = [f"The base model family's own input preprocessing ({node.extra['family']!r})."]

        if row.kind == "base":
            st.lines = _base_lines(spec, node, src, out, constants)
        else:
            st.lines = [f"{out} = {_layer_call(node)}({_applied(row, [var[i] for i in node.inputs])})"]
        statements.append(st)

    opt_cls = OPTIMIZERS[spec.optimizer.name].keras_class
    loss = loss_def(spec)
    total = summarize(spec, nodes=nodes).total_params
    return {
        "title": f"A residual MLP ({spec.task}, {count(len(spec.blocks), 'residual block')}), rebuilt with Keras.",
        "name_comment": comment(f"Designed in rmlp as {spec.name!r}"),
        "model_name": lit(keras_model_name(spec.name)),
        "input_shape": lit(tuple(spec.input_shape)),
        "constants": constants,
        "statements": [{"lines": st.lines, "comments": [line for c in st.comments for line in wrap(comment(c), 96)],
                        "blank": st.blank} for st in statements],
        "input_var": var[nodes[0].name],
        "output_var": var[nodes[-1].name],
        "optimizer": _optimizer_code(opt_cls, spec),
        "learning_rate": lit(spec.optimizer.learning_rate),
        "loss": call(f"keras.losses.{loss.cls}", **loss.kwargs),
        "loss_weight": lit(loss.weight) if loss.weight != 1 else "",
        "metrics": _metrics_code(spec),
        "n_layers": len(nodes),
        "params_text": f"{total:,} ({human_count(total)})",
        "total_params": total,
        "task": lit(spec.task),
        "num_outputs": int(spec.num_outputs),
        "ensemble": int(spec.ensemble),
        "side_by_side": spec.members_side_by_side(),
        "piecewise": any(node.op == "bins" for node in nodes),
    }


def _optimizer_code(cls: str, spec: ModelSpec) -> str:
    """The optimizer call, its learning rate left to the ``learning_rate`` argument (a number or a schedule)."""
    kwargs = {k: v for k, v in optimizer_kwargs(spec).items() if k != "learning_rate"}
    rest = call("", **kwargs)[1:-1]
    return f"keras.optimizers.{cls}(learning_rate=learning_rate{', ' + rest if rest else ''}, **OPTIMIZER_OPTIONS)"


def _metrics_code(spec: ModelSpec) -> list[str]:
    """The metrics :func:`rmlp.keras.metrics.make_metrics` builds, as code."""
    return [call(f"keras.metrics.{d.cls}", **d.kwargs, name=d.name) for d in metric_defs(spec.task, spec.num_outputs)]
