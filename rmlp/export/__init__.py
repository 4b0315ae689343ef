"""Spec -> runnable Python, and bundles of a design or a trained run.

Code generation follows one path: the layer plan (:func:`rmlp.design.plan.make_plan`) becomes a plain data
structure of code fragments, a Jinja2 template arranges them, black formats the result and
``ast.parse`` / ``compile`` check it before anyone sees it. Every user-typed string (model name,
paths, column names, layer names) enters the code only through :func:`repr` (or a JSON text in a
raw string that is parsed back to check it), so it can never become code.

The exported model script imports Keras only (NumPy and pandas for its optional training part) and
rebuilds exactly the model :func:`rmlp.build_model` builds: same layer names, types, widths, order
and parameter count, same compile settings. Nothing here imports Keras except :func:`save_keras`,
:func:`export_savedmodel`, :func:`make_bundle` when it is given a model to save, and exporting a
spec whose ``.keras`` base-model file has not been inspected yet (it is inspected first).
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import keyword
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlp.base.info import BaseInfo, lookup
from rmlp.design.plan import Node, make_plan
from rmlp.spec.model import ModelSpec

__all__ = [
    "ExportError",
    "export_predict_script",
    "export_python",
    "export_savedmodel",
    "export_snippet",
    "graph_svg",
    "make_bundle",
    "model_code_data",
    "run_export_inputs",
    "save_keras",
]

TEMPLATES = Path(__file__).with_name("templates")


class ExportError(ValueError):
    """The export cannot be made (a spec error, a base model not known, a failed code check)."""


# ----------------------------------------------------------------------------- code fragments
class _Code(str):
    """A code fragment made here (never from user text), written as it is."""


def _lit(value: Any) -> str:
    """A Python literal for a plain value (str, number, bool, None, list/tuple of these)."""
    if isinstance(value, _Code):
        return str(value)
    if isinstance(value, tuple):
        inner = ", ".join(_lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value)
        if text in ("nan", "inf", "-inf"):
            raise ExportError(f"The value {text} cannot be written as a Python literal.")
        return text
    raise ExportError(f"Cannot write a {type(value).__name__} as a Python literal.")


def _call(func: str, *args: Any, **kwargs: Any) -> str:
    """``func(args..., key=value...)`` with every argument written as a literal."""
    parts = [_lit(a) for a in args] + [f"{k}={_lit(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def _preprocess_call(family: str, name: str) -> str:
    """The layer :func:`rmlp.base.models.preprocessing_layers` makes for a family, as code."""
    from rmlp.base.models import CAFFE_MEAN_BGR, TORCH_MEAN_RGB, TORCH_STD_RGB

    if family == "tf":
        return _call("layers.Rescaling", 1.0 / 127.5, offset=-1.0, name=name)
    if family == "torch":
        scale = [1.0 / (255.0 * s) for s in TORCH_STD_RGB]
        offset = [-m / s for m, s in zip(TORCH_MEAN_RGB, TORCH_STD_RGB, strict=True)]
        return _call("layers.Rescaling", scale, offset=offset, name=name)
    if family == "caffe":
        kernel = [[[[1.0 if i + o == 2 else 0.0 for o in range(3)] for i in range(3)]]]
        return _call("layers.Conv2D", 3, 1, use_bias=True, trainable=False,
                     kernel_initializer=_Code(_call("keras.initializers.Constant", kernel)),
                     bias_initializer=_Code(_call("keras.initializers.Constant", [-m for m in CAFFE_MEAN_BGR])),
                     name=name)
    raise ExportError(f"Unknown preprocessing family {family!r} of the base model.")


def _raw_json(data: Any) -> str:
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


def _variables(nodes: list[Node]) -> dict[str, str]:
    """The tensor variable of each node: readable role names (x, entry, main, bypass) when every
    input is still held by its variable when it is used, else one variable per layer."""
    names = {n.name: ("inputs" if n.op == "input" else _ROLE_VARS.get(n.role, "x")) for n in nodes}
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


def _comment(text: str) -> str:
    """A one-line comment text (no newline can slip through)."""
    return " ".join(str(text).split())


def _layer_call(node: Node, var: dict[str, str]) -> str:
    """``layers.X(...)`` for a plain plan node (everything but input, preprocess and base)."""
    name = node.name
    if node.op == "dense":
        kwargs: dict[str, Any] = {"activation": node.activation}
        if node.initializer:
            kwargs["kernel_initializer"] = node.initializer
        return _call("layers.Dense", node.units, **kwargs, name=name)
    if node.op == "batchnorm":
        return _call("layers.BatchNormalization", name=name)
    if node.op == "dropout":
        return _call("layers.Dropout", node.rate, name=name)
    if node.op in ("concat", "gray_to_rgb"):
        return _call("layers.Concatenate", axis=-1, name=name)
    if node.op == "flatten":
        return _call("layers.Flatten", name=name)
    if node.op == "reshape":
        return _call("layers.Reshape", tuple(node.shape), name=name)
    if node.op == "resize":
        return _call("layers.Resizing", node.extra["height"], node.extra["width"], name=name)
    raise ExportError(f"Unknown layer kind {node.op!r} in the plan.")


def _preprocess_lines(node: Node, src: str, out: str) -> list[str]:
    """The base model family's preprocessing (one built-in layer, as rmlp builds it)."""
    family = node.extra["family"]
    return [f"{out} = {_preprocess_call(family, node.name)}({src})"]


def _freeze_lines(trainable_layers: int) -> list[str]:
    """Freezing as rmlp.base.models does it: all but the last ``trainable_layers`` layers."""
    if trainable_layers <= 0:
        return ["base_model.trainable = False  # the whole base model stays frozen"]
    return [f"for layer in base_model.layers[:-{trainable_layers}]:  "
            f"# only the last {trainable_layers} layer(s) train",
            "    layer.trainable = False"]


def _base_lines(spec: ModelSpec, node: Node, src: str, out: str, constants: list[dict[str, str]]) -> list[str]:
    """Lines that create, freeze and apply the base model (as rmlp.base.models.make_base)."""
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
        constants.append({"name": "BASE_WEIGHTS", "value": _lit(weights),
                          "comment": "'imagenet' downloads the pre-trained weights once; None: random weights"})
        lines.append(f"base_model = keras.applications.{bm.name}(include_top=False, weights=BASE_WEIGHTS, "
                     f"input_shape={_lit((int(h), int(w), 3))}, pooling={_lit(pooling)})")
    else:
        constants.append({"name": "BASE_MODEL_PATH", "value": _lit(bm.path), "comment": ""})
        lines.append("base_model = keras.saving.load_model(BASE_MODEL_PATH, safe_mode=True, compile=False)")
        if bm.cut_layer:
            constants.append({"name": "CUT_LAYER", "value": _lit(bm.cut_layer),
                              "comment": "the layer whose output feeds the residual MLP"})
            lines.append("base_model = keras.Model(base_model.inputs, base_model.get_layer(CUT_LAYER).output, "
                         'name=f"{base_model.name}_cut")')
    lines += _freeze_lines(n)
    lines.append(f"{out} = base_model({src})")
    return lines


def _block_comment(spec: ModelSpec, i: int) -> list[str]:
    b = spec.blocks[i]
    widths = ", ".join(str(w) for w in b.main_widths())
    bypass = f"Dense {list(b.bypass)} with " if b.bypass else ""
    reg = f"dropout {spec.bypass_dropout:g}" if spec.bypass_regularizer == "dropout" else "batch normalisation"
    return [f"Residual block {i + 1} [{b.layers}, {b.width}, {b.decrement}]: entry Dense({b.width}),",
            f"main path Dense widths {widths} (each with batch normalisation),",
            f"bypass: {bypass}{reg}; the two paths are concatenated."]


def _resolve_info(spec: ModelSpec, info: BaseInfo | None) -> BaseInfo | None:
    if spec.base_model is None or info is not None:
        return info
    found = lookup(spec.base_model)
    if found is None and spec.base_model.source == "file":
        from rmlp.keras.build import base_info_for  # inspects the file (imports Keras)

        found = base_info_for(spec)
    if found is None:
        raise ExportError(f"The base model {spec.base_model.name!r} is not known; inspect it first.")
    return found


def model_code_data(spec: ModelSpec | dict, info: BaseInfo | None = None) -> dict[str, Any]:
    """The plain data the model template renders: code fragments made from the layer plan."""
    from rmlp.keras.build import _model_name, check_buildable
    from rmlp.design.summary import human_count, summarize

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
    last_block: int | None = None
    in_final = False
    for node in nodes:
        out = var[node.name]
        if node.op == "input":
            statements.append(_Statement([f"{out} = keras.Input(shape=INPUT_SHAPE, name={_lit(node.name)})"]))
            continue
        src = ", ".join(var[i] for i in node.inputs)
        st = _Statement([])
        if node.role == "entry" and node.block != last_block:
            last_block = node.block
            st.blank, st.comments = True, _block_comment(spec, int(node.block or 0))
        elif node.role == "inter" and node.name.endswith("_dense1"):
            gap = int(last_block or 0) + 1
            st.blank, st.comments = True, [f"Between blocks {gap} and {gap + 1}: Dense + batch normalisation."]
        elif node.role == "final" and not in_final:
            in_final = True
            reg = ("dropout " + f"{spec.final_dropout:g}" if spec.final_regularizer == "dropout"
                   else "batch normalisation")
            st.blank, st.comments = True, [f"Final Dense layers, each followed by {reg}."]
        elif node.role == "output":
            st.blank, st.comments = True, [f"Output: {node.units} unit(s), {node.activation} activation."]
        elif node.op == "resize":
            st.blank, st.comments = True, ["Base model: images are resized to its input size first."]
        elif node.op == "gray_to_rgb":
            st.comments = ["Grayscale to RGB: the single channel is repeated three times."]

        if node.op == "preprocess":
            st.comments = [f"The base model family's own input preprocessing ({node.extra['family']!r})."]
            st.lines = _preprocess_lines(node, src, out)
        elif node.op == "base":
            st.lines = _base_lines(spec, node, src, out, constants)
        elif node.op == "gray_to_rgb":
            st.lines = [f"{out} = {_layer_call(node, var)}([{src}, {src}, {src}])"]
        elif node.op == "concat":
            st.lines = [f"{out} = {_layer_call(node, var)}([{src}])"]
        else:
            st.lines = [f"{out} = {_layer_call(node, var)}({src})"]
        statements.append(st)

    opt = spec.optimizer
    opt_kwargs: dict[str, Any] = {"learning_rate": opt.learning_rate}
    if opt.clipnorm:
        opt_kwargs["clipnorm"] = opt.clipnorm
    opt_cls = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}[opt.name]
    total = summarize(spec, nodes=nodes).total_params
    return {
        "title": f"A residual MLP ({spec.task}, {len(spec.blocks)} residual block(s)), rebuilt with Keras.",
        "name_comment": _comment(f"Designed in rmlp as {spec.name!r}"),
        "model_name": _lit(_model_name(spec.name)),
        "input_shape": _lit(tuple(spec.input_shape)),
        "constants": constants,
        "statements": [{"lines": st.lines, "comments": [_comment(c) for c in st.comments], "blank": st.blank}
                       for st in statements],
        "input_var": var[nodes[0].name],
        "output_var": var[nodes[-1].name],
        "optimizer": _call(f"keras.optimizers.{opt_cls}", **opt_kwargs),
        "loss": _lit(spec.resolved_loss()),
        "metrics": _metrics_code(spec),
        "n_layers": len(nodes),
        "params_text": f"{total:,} ({human_count(total)})",
        "total_params": total,
        "task": _lit(spec.task),
        "num_outputs": int(spec.num_outputs),
    }


def _metrics_code(spec: ModelSpec) -> list[str]:
    """The metrics of :func:`rmlp.keras.build.make_metrics`, as code."""
    m = "keras.metrics."
    if spec.task == "regression":
        return [_call(m + "RootMeanSquaredError", name="rmse"), _call(m + "MeanAbsoluteError", name="mae")]
    if spec.task == "binary":
        return [_call(m + "BinaryAccuracy", name="accuracy"), _call(m + "AUC", name="auc")]
    found = [_call(m + "CategoricalAccuracy", name="accuracy")]
    found += [_call(m + "TopKCategoricalAccuracy", k=k, name=f"top{k}_accuracy")
              for k in (3, 5) if k < spec.num_outputs]
    return found


# ----------------------------------------------------------------------------- render and check
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # noqa: S701 - renders Python and Markdown, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, **data: Any) -> str:
    from rmlp import __version__

    return _env().get_template(template).render(version=__version__, **data)


def _finish(code: str, what: str) -> str:
    """Format with black, then parse and compile; ExportError when the code is not valid Python."""
    import black

    try:
        code = black.format_str(code, mode=black.Mode(line_length=100))
    except Exception as exc:  # noqa: BLE001 - black raises several error types for bad input
        raise ExportError(f"The generated {what} is not valid Python (black: {exc}).") from None
    try:
        ast.parse(code)
        compile(code, "<export>", "exec")
    except SyntaxError as exc:
        raise ExportError(f"The generated {what} does not compile: {exc}.") from None
    return code


def _check_json_literal(code: str, variable: str, expected: Any) -> None:
    """The raw JSON string assigned to ``variable`` parses back to exactly ``expected``."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # json.loads(r'''...''')
                value = value.args[0]
            if isinstance(value, ast.Constant) and value.value is None and expected is None:
                return
            if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
                raise ExportError(f"The generated code does not hold {variable} as a string literal.")
            if json.loads(value.value) != json.loads(json.dumps(expected)):
                raise ExportError(f"The generated {variable} does not read back as the data it was made from.")
            return
    raise ExportError(f"The generated code lacks {variable}.")


def export_python(spec: ModelSpec | dict, *, csv_path: str | Path | None = None, target: str | None = None,
                  epochs: int = 10, batch_size: int = 32, include_training: bool = False,
                  preprocessor: dict[str, Any] | None = None, info: BaseInfo | None = None) -> str:
    """A stand-alone Python script (Keras only, no rmlp) that rebuilds and compiles the model.

    With ``include_training`` it also reads ``csv_path`` with pandas, encodes it like the
    ``preprocessor`` (a saved ``preprocessor.json`` as a dict; None: one is learned from the
    training rows the same way), holds out 20% for validation, trains for ``epochs`` and saves
    ``model.keras`` and ``preprocessor.json``.
    """
    data = model_code_data(spec, info)
    if include_training:
        if not target:
            target = (preprocessor or {}).get("target", {}).get("name")
        if not target:
            raise ExportError("A training script needs the target column (target=...).")
        if int(epochs) < 1 or int(batch_size) < 1:
            raise ExportError(f"Epochs and batch size must be at least 1 (got {epochs} and {batch_size}).")
        if preprocessor is not None and preprocessor.get("format") != "rmlp-preprocessor":
            raise ExportError("The preprocessor is not an rmlp preprocessor description (preprocessor.json).")
        data.update(
            csv_path=_lit(str(csv_path) if csv_path is not None else "data.csv"),
            target=_lit(str(target)),
            epochs=int(epochs),
            batch_size=int(batch_size),
            preprocessor=f"json.loads({_raw_json(preprocessor)})" if preprocessor is not None else "None",
            preprocessor_embedded=preprocessor is not None,
        )
    code = _finish(_render("model.py.j2", training=include_training, **data), "model script")
    if include_training:
        _check_json_literal(code, "PREPROCESSOR", preprocessor)
    return code


def export_snippet(spec: ModelSpec | dict) -> str:
    """A short script that rebuilds the model with rmlp from the spec's JSON (SpecError if it has errors)."""
    from rmlp.keras.build import check_buildable

    spec = check_buildable(spec)
    code = _finish(_render("snippet.py.j2", spec_json=_raw_json(spec.to_dict())), "snippet")
    _check_json_literal(code, "SPEC_JSON", spec.to_dict())
    return code


def export_predict_script(run_dir: str | Path) -> str:
    """A stand-alone script (Keras, NumPy, pandas; no rmlp) that predicts on raw CSV rows with the
    run's ``model.keras`` and ``preprocessor.json``."""
    run_dir = Path(run_dir)
    return _finish(_render("predict.py.j2", run_dir=_lit(str(run_dir.resolve()))), "predict script")


# ----------------------------------------------------------------------------- models and graphs
def save_keras(model: Any, path: str | Path) -> Path:
    """Save a Keras model as a ``.keras`` file (the suffix is added when missing)."""
    path = Path(path)
    if path.suffix != ".keras":
        path = path.with_name(path.name + ".keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def export_savedmodel(model: Any, directory: str | Path) -> Path:
    """Export the model for serving (a TensorFlow SavedModel folder, via ``model.export``)."""
    directory = Path(directory)
    model.export(str(directory), verbose=False)
    return directory


def graph_svg(dot_text: str, timeout: float = 60.0) -> bytes | None:
    """SVG of a DOT text via Graphviz's ``dot`` program; None when it is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and done.stdout else None


# ----------------------------------------------------------------------------- bundles
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _md(text: Any) -> str:
    """Text for one Markdown table cell or heading line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _readme(spec: ModelSpec, files: dict[str, str], *, run_name: str = "", metrics: Any = None,
            has_model: bool = False, model_trains: bool = False) -> str:
    from rmlp.design.summary import human_bytes, human_count, summarize

    figures: list[tuple[str, str]] = []
    try:
        s = summarize(spec)
        figures = [
            ("Parameters", f"{s.total_params:,} ({human_count(s.total_params)})"),
            ("Trainable parameters", f"{s.trainable_params:,}"),
            ("Layers", str(s.layers)),
            ("Dense layers", str(s.dense_layers)),
            ("Depth (weight layers on the longest path)", str(s.depth)),
            ("FLOPs per example", human_count(s.flops)),
            ("Weights", human_bytes(s.weights_bytes)),
            (f"Training memory estimate (batch {s.batch_size})", human_bytes(s.peak_training_bytes)),
        ]
    except Exception:  # noqa: BLE001 - a base model not inspected here: the README says less
        figures = [("Parameters", "not known (base model not inspected)")]
    base_text = ""
    if spec.base_model is not None:
        bm = spec.base_model
        what = f"keras.applications.{bm.name}" if bm.source == "applications" else f"the file {bm.path}"
        base_text = f"A base model ({_md(what)}) runs in front of the residual blocks."
    metric_rows = []
    if isinstance(metrics, dict):
        flat = metrics.get("test", metrics) if isinstance(metrics.get("test"), dict) else metrics
        for key, value in flat.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metric_rows.append((_md(key), f"{value:.4g}"))
    return _render(
        "README.md.j2",
        title=_md(f"Residual MLP {spec.name}"),
        date=_dt.date.today().isoformat(),
        run_name=_md(run_name),
        task=spec.task,
        num_outputs=spec.num_outputs,
        input_shape=list(spec.input_shape),
        base_text=base_text,
        blocks=len(spec.blocks),
        figures=figures,
        metrics=metric_rows,
        files=sorted(files.items()),
        has_model=has_model,
        has_predict="preprocessor.json" in files,
        model_trains=model_trains,
    )


def run_export_inputs(run_dir: str | Path) -> dict[str, Any]:
    """Keyword arguments of :func:`export_python` for a trained run: its preprocessor, the CSV file and
    target it was trained on (from data.json), and a training part when the run is a table."""
    run_dir = Path(run_dir)
    prep = _read_json(run_dir / "preprocessor.json")
    if not (isinstance(prep, dict) and prep.get("format") == "rmlp-preprocessor"):
        prep = None
    record = _read_json(run_dir / "data.json")
    record = record if isinstance(record, dict) else {}
    csv_path = str(record.get("path") or "") or None
    target = str(record.get("target") or "") or None
    training = prep is not None and record.get("kind", "table") == "table"
    return {"csv_path": csv_path, "target": target, "include_training": training, "preprocessor": prep}


def make_bundle(run_dir_or_spec: str | Path | ModelSpec, out_zip: str | Path, model: Any = None) -> Path:
    """One zip with everything about a design or a trained run.

    Holds spec.json, model.py (stand-alone Keras script; with a training part for a tabular run),
    snippet.py (rmlp), predict.py, model.keras (a run's, or ``model`` saved), preprocessor.json,
    history.csv, metrics.json, train_config.json, graph.dot (+ graph.svg with Graphviz) and a
    README.md describing the model and how to load it.
    """
    from rmlp.design.graph import to_dot

    out_zip = Path(out_zip)
    run_dir: Path | None = None
    if isinstance(run_dir_or_spec, ModelSpec):
        spec = run_dir_or_spec
    else:
        run_dir = Path(run_dir_or_spec)
        if not (run_dir / "spec.json").is_file():
            raise ExportError(f"{run_dir} is not a run folder: it has no spec.json.")
        from rmlp.spec.io import load_spec

        spec = load_spec(run_dir / "spec.json")
    texts: dict[str, str | bytes] = {"spec.json": spec.to_json() + "\n"}
    what: dict[str, str] = {"spec.json": "the model spec (rmlp loads it: `rmlp.load_spec`)"}
    inputs = run_export_inputs(run_dir) if run_dir else {}
    preprocessor = inputs.get("preprocessor")
    texts["model.py"] = export_python(spec, **inputs)
    what["model.py"] = ("stand-alone Keras script that rebuilds the model"
                        + (" and trains it" if inputs.get("include_training") else ""))
    texts["snippet.py"] = export_snippet(spec)
    what["snippet.py"] = "rebuilds the model with rmlp from the spec"
    texts["predict.py"] = export_predict_script(run_dir if run_dir else ".")
    what["predict.py"] = "predicts on raw CSV rows with model.keras and preprocessor.json (no rmlp)"
    if preprocessor is not None:
        texts["preprocessor.json"] = json.dumps(preprocessor, indent=2) + "\n"
        what["preprocessor.json"] = "how raw table columns become model inputs"
    dot = to_dot(spec)
    texts["graph.dot"] = dot
    what["graph.dot"] = "the architecture as a Graphviz graph"
    svg = graph_svg(dot)
    if svg is not None:
        texts["graph.svg"] = svg
        what["graph.svg"] = "the architecture drawn"
    files_from_run = {"history.csv": "per-epoch training history", "metrics.json": "final metrics",
                      "train_config.json": "the training settings", "versions.json": "library versions"}
    model_file: Path | None = None
    tmp_dir = None
    if run_dir is not None:
        for name, desc in files_from_run.items():
            if (run_dir / name).is_file():
                texts[name] = (run_dir / name).read_bytes()
                what[name] = desc
        if (run_dir / "model.keras").is_file() and model is None:
            model_file = run_dir / "model.keras"
    if model is not None:
        import tempfile

        tmp_dir = tempfile.TemporaryDirectory()
        model_file = save_keras(model, Path(tmp_dir.name) / "model.keras")
    if model_file is not None:
        what["model.keras"] = "the trained model (keras.saving.load_model)"
    metrics = _read_json(run_dir / "metrics.json") if run_dir else None
    what["README.md"] = "this file"
    texts["README.md"] = _readme(spec, what, run_name=run_dir.name if run_dir else "", metrics=metrics,
                                 has_model=model_file is not None,
                                 model_trains=bool(inputs.get("include_training")))
    try:
        out_zip.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, content in texts.items():
                zf.writestr(name, content)
            if model_file is not None:
                zf.write(model_file, "model.keras")
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return out_zip
