"""The parts of the Export page: the generated code, and downloads of everything else.

The code is generated (and compile-checked) by :mod:`rmlp.export` without Keras; only the bundle
of a design that was never trained builds the model, and only when its download is clicked.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from designer_app import state, train_session
from designer_app.train_session import RunInfo
from rmlp import ModelSpec
from rmlp.data import DataError
from rmlp.data.split import SPLIT, SplitConfig
from rmlp.design.graph import to_dot
from rmlp.export import export_python, export_snippet, graph_svg, make_bundle
from rmlp.runs.config import TrainConfig
from rmlp.runs.folder import RunDir
from rmlp.spec.units import count


@lru_cache(maxsize=32)
def _script(spec_text: str, data_name: str, target: str, config_text: str, training: bool,
            preprocessor_text: str, split: tuple[float, float] = (SPLIT.val_size, SPLIT.test_size)) -> str:
    preprocessor = json.loads(preprocessor_text) if preprocessor_text else None
    return export_python(ModelSpec.model_validate_json(spec_text), csv_path=data_name or None, target=target or None,
                         training=TrainConfig.from_json(config_text), include_training=training,
                         preprocessor=preprocessor, split=SplitConfig(val_size=split[0], test_size=split[1]))


@lru_cache(maxsize=32)
def _snippet(spec_text: str) -> str:
    return export_snippet(ModelSpec.model_validate_json(spec_text))


@lru_cache(maxsize=16)
def _svg(dot: str) -> bytes | None:
    return graph_svg(dot)


def matching_run(spec: ModelSpec) -> RunInfo | None:
    """The last run when it trained exactly the current design (else None)."""
    run = train_session.last_run()
    if run is None or not Path(run.run_dir).is_dir():
        return None
    try:
        trained = ModelSpec.model_validate_json(run.spec_json) if run.spec_json else None
    except ValueError:
        trained = None
    return run if trained == spec else None


def _training_inputs(spec: ModelSpec) -> tuple[bool, str, str, str]:
    """(possible, data file name, target, preprocessor JSON) for a script that also trains on the table in use.

    Only the name the user knows the file by goes into the script (never the server's path): the
    script takes the data file as its argument. The preprocessor is the one of the split Start
    would train on (the Train page's shares and seed).
    """
    loaded = state.data()
    if loaded is None or loaded.kind != "table" or len(spec.input_shape) != 1:
        return False, "", "", ""
    settings = state.train_settings()
    try:
        loaded = loaded.with_split(float(settings["val_size"]), float(settings["test_size"]), int(settings["seed"]))
    except (DataError, KeyError, ValueError):
        return False, "", "", ""
    pre = getattr(loaded.data, "preprocessor", None)
    text = json.dumps(pre.to_dict()) if pre is not None and hasattr(pre, "to_dict") else ""
    return True, Path(loaded.name or Path(loaded.path).name).name, loaded.target, text


def code() -> str | None:
    """The stand-alone Keras script (and the rmlp snippet) with syntax highlighting and a copy button."""
    spec = state.spec()
    errors = state.errors()
    if errors:
        st.error(f"The design has {count(len(errors), 'error')}, so no code is generated yet. "
                 f"First: {errors[0].message}",
                 icon=":material/error:")
        return None
    possible, csv_path, target, pre = _training_inputs(spec)
    training = st.toggle("Include loading the data and training", value=bool(state.ui("export_training", False)),
                         key="export_training", disabled=not possible,
                         on_change=lambda: state.set_ui("export_training", st.session_state["export_training"]),
                         help="Makes the script a command, `python model.py DATA.csv`, that splits the table "
                         "as the app does (same seed, same rows), encodes it exactly as the app did (the "
                         "preprocessing is embedded), trains with the settings of the Train page, prints the "
                         "test metrics and saves the model. Available when a table is in use.")
    settings = state.train_settings()
    text = spec.to_json(indent=None)
    try:
        config = TrainConfig.model_validate({k: v for k, v in settings.items() if k in TrainConfig.model_fields})
        script = _script(text, csv_path, target, config.to_json(indent=None), bool(training and possible),
                         pre if training and possible else "",
                         (float(settings.get("val_size", SPLIT.val_size)),
                          float(settings.get("test_size", SPLIT.test_size))))
        snippet = _snippet(text)
    except ValueError as exc:
        st.error(f"The code could not be generated: {exc}", icon=":material/error:")
        return None
    keras_tab, rmlp_tab = st.tabs(["Keras script (no rmlp needed)", "rmlp snippet"])
    with keras_tab:
        st.caption("A readable script that rebuilds exactly this model with plain Keras. Copy it with the "
                   "button at the top right of the code, or download it below.")
        st.code(script, language="python", line_numbers=True, height=480)
    with rmlp_tab:
        st.caption("The short version: the spec as JSON, built by rmlp.")
        st.code(snippet, language="python", height=480)
    return script


def _file_reader(path: Path) -> Callable[[], bytes]:
    return lambda: path.read_bytes()


def _bundle(spec: ModelSpec, run_dir: str | None) -> Callable[[], bytes]:
    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="rmlp-bundle-") as tmp:
            out = Path(tmp) / "bundle.zip"
            make_bundle(Path(run_dir) if run_dir else spec, out)
            return out.read_bytes()

    return make


def downloads(script: str | None) -> None:
    """Script, spec JSON, graph (DOT, SVG), trained model, history and the whole bundle."""
    spec = state.spec()
    name = spec.name or "model"
    run = matching_run(spec)
    st.subheader("Downloads", anchor=False)
    design, trained = st.columns(2)
    with design:
        st.markdown("**The design**")
        _download("Python script (model.py)", script or "", "model.py", "text/x-python", disabled=script is None,
                  help="The stand-alone Keras script shown above, named as its own help and the bundle name it.")
        _download("Spec (.json)", spec.to_json(), f"{name}.json", "application/json",
                  help="The design as JSON: open it on the Design page, or use it with `rmlp train SPEC`.")
        dot = to_dot(spec)
        _download("Graph (.dot)", dot, f"{name}.dot", "text/vnd.graphviz",
                  help="The drawing of the design as Graphviz DOT text.")
        svg = _svg(dot)
        if svg is not None:
            _download("Graph (.svg)", svg, f"{name}.svg", "image/svg+xml", help="The drawing as an SVG image.")
        else:
            st.caption("SVG needs a Graphviz layout program (graphviz-pure or `dot`); neither is installed here.")
    with trained:
        st.markdown("**The trained model**")
        if run is None:
            last = train_session.last_run()
            st.caption("Train this design on the Train page to download the trained model and its history."
                       if last is None else "The last run trained a different design; train this one to get its "
                       "model and history.")
        else:
            folder = RunDir(run.run_dir)
            st.caption(f"From the run in `{folder.path}`.")
            for label, file, mime, tip in (
                ("Trained model (.keras)", RunDir.MODEL, "application/octet-stream",
                 "The trained Keras model; it loads with keras.saving.load_model, without rmlp."),
                ("History (.csv)", RunDir.HISTORY, "text/csv", "Loss and metrics of every epoch."),
                ("Test metrics (.json)", RunDir.METRICS, "application/json", "The metrics on the test split."),
            ):
                if folder.has(file):
                    _download(label, _file_reader(folder.file(file)), f"{name}-{file}", mime, help=tip)
        _download("Everything (.zip)", _bundle(spec, run.run_dir if run else None), f"{name}-bundle.zip",
                  "application/zip", type="primary",
                  help="Spec, script, snippet, predict script, graph and README"
                  + (", plus the trained model, history and metrics." if run else ".")
                  + " Made when you click.")


def _download(label: str, data: Any, file_name: str, mime: str, *, help: str, disabled: bool = False,
              type: Literal["primary", "secondary", "tertiary"] = "secondary") -> None:
    st.download_button(label, data, file_name=file_name, mime=mime, help=help, disabled=disabled, on_click="ignore",
                       icon=":material/download:", type=type, key=f"dl:{file_name}", width="stretch")
