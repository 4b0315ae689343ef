"""The parts of the Design page: presets, base model, blocks table, figures, graph, save/load.

Nothing here imports TensorFlow: the design path (spec, validation, summary, graph) is pure Python.
Only the "built Keras model" graph and inspecting an uploaded ``.keras`` file load Keras, on request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from designer_app import datasets, server, state
from designer_app.design_values import (
    app_label,
    blocks_frame,
    blocks_from_frame,
    figure_cells,
    figures_html,
    idea_text,
    memory_breakdown,
    problem_words,
    short_label,
)
from designer_app.widgets import ProblemBoard, field, help_text, show_problem
from rmlp import BaseModelSpec, BlockSpec, ModelSpec, SpecError, build_model, field_meta, model_to_dot
from rmlp.base.info import applications, lookup
from rmlp.base.measure import inspect_base_file
from rmlp.base.safety import check_keras_file
from rmlp.data import spec_for_data
from rmlp.data.samples import BASE_MODEL, sample_dir, starting_base_model
from rmlp.design.graph import auto_compact, to_dot
from rmlp.design.memory import memory_verdict
from rmlp.design.summary import Summary, summarize
from rmlp.runs.config import TrainConfig
from rmlp.spec.fields import format_int_list
from rmlp.spec.presets import PRESET_HELP, PRESET_TITLES, PRESETS, get_preset
from rmlp.spec.sections import BLOCK_FIELDS, DESIGN_SECTIONS, section
from rmlp.spec.units import human_bytes, human_count

BLOCK_COLUMNS = BLOCK_FIELDS
SAMPLE_BASE_MODEL = sample_dir() / BASE_MODEL


# ---------------------------------------------------------------------- presets and files
PRESETS_KEY = "presets_popover"
OPEN_KEY = "open_json_popover"


def preset_bar() -> None:
    """Start from a preset; save or open the design as JSON. The popovers are drawn only when open."""
    spec = state.spec()
    with st.container(horizontal=True):
        presets = st.popover("Start from a preset", icon=":material/auto_awesome:", key=PRESETS_KEY,
                             on_change="rerun", help="Starter designs: " + "; ".join(_preset_titles()) + ".")
        if presets.open:
            with presets:
                _preset_buttons()
        st.download_button("Save JSON", lambda: spec.to_json(), file_name=f"{spec.name}.json",
                           mime="application/json", icon=":material/save:", on_click="ignore",
                           help="Download the design as a JSON spec (open it later with 'Open JSON', "
                           "or use it with the rmlp command line).")
        opener = st.popover("Open JSON", icon=":material/upload_file:", key=OPEN_KEY, on_change="rerun",
                            help="Load a design saved as JSON; it replaces the current design.")
        if opener.open:
            with opener:
                st.file_uploader("Open a design saved as JSON", type=["json"], key=f"spec_upload{state.rev()}",
                                 on_change=_open_json, args=(f"spec_upload{state.rev()}",),
                                 help="Load a design saved as JSON. It replaces the current design.")
                st.caption("To share a design, copy the address in your browser: it holds the whole design.")
    _opened()
    fit_status()


OPENED = "open_json_result"  # ("success" or "error", text, problem lines) of the last Open JSON


def _opened() -> None:
    """What the last Open JSON did, under the bar (outside the popover), every problem listed; shown once."""
    result = state.ui(OPENED)
    if not result:
        return
    state.set_ui(OPENED, None)
    kind, text, lines = result
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
        return
    st.error(text + "".join(f"\n- {line}" for line in lines), icon=":material/error:")


def _preset_titles() -> list[str]:
    return [PRESET_TITLES.get(name, name) for name in PRESETS]


def _preset_buttons() -> None:
    """One button per preset (its title), its one-line description under it; fit to the data or not."""
    loaded = state.data()
    if loaded is not None:
        key = f"preset_fit{state.rev()}"
        st.toggle(f"Fit to the data in use ({loaded.name})", value=bool(state.ui("preset_fit", True)), key=key,
                  on_change=_keep_ui, args=("preset_fit", key),
                  help="On: the preset's input shape, task and outputs follow the data in use, as Train would set "
                  "them. Off: the preset exactly as it is; the page then says what Train will change.")
    st.caption("Loading a preset replaces the current design.")
    for name in PRESETS:
        st.button(PRESET_TITLES.get(name, name.replace("_", " ")), key=f"preset:{name}", on_click=_load_preset,
                  args=(name,), help=PRESET_HELP.get(name, ""), width="stretch", icon=":material/file_open:")
        st.caption(PRESET_HELP.get(name, ""))


def _load_preset(name: str) -> None:
    """Load a preset; with data in use (and fitting on) fit it to the data at once and say what changed."""
    preset = get_preset(name)
    loaded = state.data()
    st.session_state[PRESETS_KEY] = False
    title = PRESET_TITLES.get(name, name)
    if loaded is None or not state.ui("preset_fit", True):
        state.set_spec(preset)
        state.notify(f"Preset '{name}' loaded ({title}).", "success")
        return
    fitted, notices = spec_for_data(preset, loaded.data)
    lines = [str(n) for n in notices]  # a preset keeps its design: only input, task and outputs follow the data
    state.set_spec(fitted)
    state.set_ui(PRESET_NOTE, (fitted.to_json(indent=None), f"Preset '{title}' fitted to {loaded.name}", lines))
    state.notify(f"Preset '{name}' loaded ({title}) and fitted to {loaded.name}.", "success")


PRESET_NOTE = "preset_note"


def fit_status() -> None:
    """Under the preset bar: what fitting a preset changed, or that the design does not match the data in use."""
    note = state.ui(PRESET_NOTE)
    spec = state.spec()
    if note and note[0] == spec.to_json(indent=None) and note[2]:
        st.info(f"{note[1]}: " + " ".join(note[2]), icon=":material/tune:")
    fit, loaded = state.data_fit(), state.data()
    if fit is None or loaded is None:
        return
    fitted, changes = fit
    size = ""
    try:
        size = f" Fitted, it has {human_count(summarize(fitted, state.batch_size()).total_params)} parameters."
    except (ValueError, KeyError, IndexError, ZeroDivisionError):
        pass
    st.warning(f"This design does not match the data in use (**{loaded.name}**); the figures below are for the "
               f"design as it is. Train will fit it first: " + " ".join(changes) + size, icon=":material/rule:")
    st.button(f"Fit the design to {loaded.name}", on_click=state.fit_to_data, icon=":material/tune:",
              key=f"fit_to_data{state.rev()}", help="Make those changes now, so what you see is what Train trains.")


def _open_json(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    st.session_state[OPEN_KEY] = False  # the result is shown under the bar, where it stays in sight
    try:
        spec = ModelSpec.from_json(upload.getvalue().decode("utf-8", errors="replace"))
    except SpecError as exc:
        found = [problem_words(p) for p in exc.problems]
        lines = found[:10] + ([f"… and {len(found) - 10} more"] if len(found) > 10 else [])
        state.set_ui(OPENED, ("error", f"'{upload.name}' is not a usable design "
                              f"({len(found)} problem{'s' if len(found) != 1 else ''}); the current design is kept:",
                              lines))
        return
    state.set_spec(spec)
    state.set_ui(OPENED, ("success", f"Design loaded from '{upload.name}'.", []))


# ---------------------------------------------------------------------- sections (stateful tabs)
SECTION_KEY = "design_section"
DEFAULT_SECTION = "Blocks"
#: Column widths (pixels) of the blocks table: the four editable columns fit a half-width column at once.
NUMBER_WIDTH, BYPASS_WIDTH = 48, 80


def sections() -> dict[str, tuple[Callable[[ProblemBoard], None], tuple[str, ...]]]:
    """Each tab of controls: what draws it, and the spec fields (path prefixes) it holds.

    The labels are short so the tab bar fits the half-width column without scrolling.
    """
    draw = {"Input": task_and_input, "Base model": base_model, "Blocks": blocks_table,
            "Around blocks": around_blocks, "Optimizer": output_and_optimizer}
    return {item.label: (draw[item.label], item.holds) for item in DESIGN_SECTIONS}


def controls(board: ProblemBoard) -> None:
    """The controls, one tab per section; only the open tab is drawn (a rerun stays quick).

    Problems of the sections not shown are listed under the tabs, each naming its section.
    """
    parts = sections()
    current = state.ui("design_section", DEFAULT_SECTION)
    tabs = st.tabs(list(parts), key=SECTION_KEY, default=current if current in parts else DEFAULT_SECTION,
                   on_change=_keep_ui, args=("design_section", SECTION_KEY))
    hidden = []
    for tab, (label, (draw, _paths)) in zip(tabs, parts.items(), strict=True):
        if tab.open:
            with tab:
                draw(board)
        else:
            hidden.append(label)
    for label in hidden:
        claimed = board.claim(*parts[label][1])
        for i, problem in claimed:
            show_problem(problem, key=f"fix{state.rev()}.{i}", prefix=f"*{label}*: ")
    if board.rest():
        board.show_rest()


# ---------------------------------------------------------------------- task, input, base model
def task_and_input(board: ProblemBoard) -> None:
    two_columns(board, *section("Input").columns)


_BASE_MODES = {"none": "None", "applications": "keras.applications", "file": "My .keras file"}


def base_model(board: ProblemBoard) -> None:
    """None, an applications model (size shown) or a .keras file checked before Keras sees it."""
    spec = state.spec()
    current = "none" if spec.base_model is None else spec.base_model.source
    mode = st.segmented_control(
        "Source", list(_BASE_MODES), default=current, format_func=lambda key: _BASE_MODES[key], required=True,
        key=f"base_mode{state.rev()}", help=field_meta("base_model").help
        + "\n\nNone: a stand-alone residual MLP. keras.applications: a known image network. "
        "My .keras file: your own model, checked for unsafe layers before it is loaded.")
    if mode != current:
        _set_base_mode(mode or "none")
        st.rerun()
    bm = spec.base_model
    if bm is None:
        board.show("base_model")
        return
    if bm.source == "applications":
        table = applications()
        if not table:
            st.info("The table of keras.applications models is not available on this machine "
                    "(run scripts/make_applications_table.py).")
        names = sorted(table) or [bm.name]
        field("base_model.name", board, options=names, format_func=app_label)
        info = table.get(bm.name)
        if info is not None:
            st.caption(f"{bm.name}: usual input {info.default_size[0]}×{info.default_size[1]}, "
                       f"{info.total_params:,} parameters, {info.num_layers} layers.")
        two_columns(board, ("base_model.weights", "base_model.pooling"),
                    ("base_model.input_size", "base_model.trainable_layers"))
        field("base_model.preprocess", board)
    else:
        _base_file(bm, board)
    board.show("base_model")


def _set_base_mode(mode: str) -> None:
    state.set_spec(state.spec().copy_with(base_model=starting_base_model(mode)))


def _base_file(bm: BaseModelSpec, board: ProblemBoard) -> None:
    upload_key = f"base_upload{state.rev()}"
    st.file_uploader(
        "Upload a .keras base model", type=["keras"], key=upload_key, on_change=_take_base_upload,
        args=(upload_key,),
        help=f"A Keras 3 model saved with model.save('name.keras'), at most {human_bytes(_base_limit())}. "
        "Its config is checked against an allow-list of built-in layers (no Lambda, no custom code) "
        "before Keras loads it with safe_mode=True.")
    path = Path(bm.path) if bm.path else None
    if path is not None and path.is_file():
        shown = "sample digits CNN" if path.resolve() == SAMPLE_BASE_MODEL.resolve() else path.name
        st.caption(f"Using {shown} ({human_bytes(path.stat().st_size)}).")
    field("base_model.cut_layer", board)
    two_columns(board, ("base_model.input_size",), ("base_model.trainable_layers",))
    if path is None or not path.is_file():
        return
    problems = _checked_base(path)
    for problem in problems:
        st.error(f"{problem.message}  \n**Fix:** {problem.fix}", icon=":material/gpp_bad:")
    if problems:
        return
    info = lookup(bm)
    if info is None:
        st.info("This file passed the safety check. Inspect it once (loads TensorFlow, a few seconds) to "
                "count its parameters and see its output shape.")
        st.button("Inspect the base model", on_click=_inspect_base, icon=":material/search:",
                  help="Loads the model with safe_mode=True, cuts it at the chosen layer and measures it.")
    else:
        st.caption(f"{info.total_params:,} parameters, {info.num_layers} layers, input "
                   f"{info.default_size[0]}×{info.default_size[1]}×{info.input_channels}.")


def _base_limit() -> int:
    """The largest .keras base model this server accepts (bytes)."""
    return int(server.limits().base_model_mb * 2**20)


def _checked_base(path: Any) -> list[Any]:
    """The safety check of a base-model file within this server's size limit (remembered by content hash)."""
    hint = f"ask whoever runs the server to raise it ({server.limits().raise_hint('base_model_mb')})"
    return check_keras_file(path, _base_limit(), raise_hint=hint)


def _take_base_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        path = datasets.save_upload(upload.getvalue(), upload.name, (".keras",))
    except ValueError as exc:
        state.notify(str(exc), "error")
        return
    problems = _checked_base(path)
    if problems:
        state.notify("The uploaded model was refused: " + " ".join(p.message for p in problems), "error")
        return
    bm = state.spec().base_model
    new_bm = (bm.model_dump() if bm else {}) | {"source": "file", "path": str(path), "cut_layer": "",
                                                "weights": "none", "preprocess": False}
    state.set_spec(state.spec().copy_with(base_model=new_bm))
    state.notify(f"'{upload.name}' passed the safety check. Inspect it to count its parameters.", "success")


def _inspect_base() -> None:
    bm = state.spec().base_model
    if bm is None:
        return
    try:
        with st.spinner("Loading the base model…"):
            inspect_base_file(bm.path, bm.cut_layer)
    except (SpecError, ValueError, OSError) as exc:
        state.notify(f"The base model could not be inspected: {exc}", "error")
        return
    state.forget_cached_checks()
    state.notify("Base model inspected.", "success")


# ---------------------------------------------------------------------- the blocks table
def _column(name: str, last: BlockSpec | None = None) -> Any:
    """The column of one block field; a new row starts as a copy of ``last`` (not the library default)."""
    meta = field_meta(f"blocks[].{name}")
    label = short_label(meta.label)
    default = getattr(last, name) if last is not None else meta.default
    if meta.kind == "int":
        return st.column_config.NumberColumn(label, help=help_text(meta), min_value=meta.low, max_value=meta.high,
                                             step=1, default=default, required=True, format="%d", width=NUMBER_WIDTH)
    return st.column_config.TextColumn(label, help=help_text(meta) + "\n\nExample: 32, 16.",
                                       default=format_int_list(default or []), validate=r"^[\d,;\s\[\]]*$",
                                       width=BYPASS_WIDTH)


def blocks_table(board: ProblemBoard) -> None:
    """The editable table of blocks, its row actions, and the blocks' problems right below it."""
    spec = state.spec()
    blocks = list(spec.blocks)
    digest = hashlib.sha1(json.dumps([b.model_dump() for b in blocks]).encode()).hexdigest()[:12]
    edited = st.data_editor(
        blocks_frame(blocks),
        key=f"blocks.{digest}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={name: _column(name, blocks[-1] if blocks else None) for name in BLOCK_COLUMNS} | {
            "main path": st.column_config.TextColumn(
                "Main path", help="The Dense widths this block's main path gets: k, k − l, k − 2l, … "
                "(✗: a width below 1, the block is invalid).")},
        column_order=(*BLOCK_COLUMNS, "main path"),
        disabled=["main path"],
    )
    st.caption("j: Dense layers of the main path · k: first width · l: decrement (each layer l units narrower) · "
               "Bypass: Dense widths on the bypass. A new row (last line of the table) starts as a copy of the "
               "last block.")
    new_blocks, messages = blocks_from_frame(edited, blocks)
    for message in messages:
        st.error(message, icon=":material/edit_off:")
    if new_blocks != blocks and new_blocks:
        state.set_value("blocks", [b.model_dump() for b in new_blocks])
        st.rerun()
    if not new_blocks:
        st.error("A design needs at least one block; the last one cannot be removed.", icon=":material/error:")
    _block_actions(len(blocks))
    board.show("blocks")


def _block_actions(count: int) -> None:
    """Duplicate or remove a chosen block (rows can also be added and deleted in the table itself)."""
    box = st.popover("Duplicate or remove a block", icon=":material/content_copy:", key="block_actions",
                     on_change="rerun", help="Rows can also be added (last row) and deleted (select the row, "
                     "then the bin icon) in the table itself.")
    if not box.open:
        return
    with box:
        number = st.number_input("Block", min_value=1, max_value=max(count, 1), value=count, step=1,
                                 key=f"block_pick{state.rev()}.{count}", help="The block the buttons below act on.")
        index = int(number) - 1
        with st.container(horizontal=True):
            st.button("Duplicate", on_click=_edit_blocks, args=("duplicate", index),
                      help="Insert a copy of this block right after it.")
            st.button("Remove", on_click=_edit_blocks, args=("remove", index), disabled=count <= 1,
                      help="Delete this block (a design keeps at least one).")
            st.button("Add", on_click=_edit_blocks, args=("add", count - 1),
                      help="Append a copy of the last block.")


def _edit_blocks(action: str, index: int) -> None:
    blocks = [b.model_dump() for b in state.spec().blocks]
    if action in ("duplicate", "add"):
        blocks.insert(index + 1, dict(blocks[index]))
    elif action == "remove" and len(blocks) > 1:
        blocks.pop(index)
    state.set_value("blocks", blocks)


# ---------------------------------------------------------------------- global settings
def around_blocks(board: ProblemBoard) -> None:
    two_columns(board, *section("Around blocks").columns)


def two_columns(board: ProblemBoard, left: tuple[str, ...], right: tuple[str, ...]) -> None:
    """The controls of these spec fields, in two columns."""
    for column, paths in zip(st.columns(2), (left, right), strict=True):
        with column:
            for path in paths:
                field(path, board)


def output_and_optimizer(board: ProblemBoard) -> None:
    two_columns(board, *section("Optimizer").columns)


# ---------------------------------------------------------------------- figures
def figures() -> None:
    """Parameters, layers, depth, FLOPs and peak training memory, with a warning against this machine."""
    figures = state.summary()
    if isinstance(figures, str):
        st.info(figures, icon=":material/info:")
        return
    _metrics(figures)
    verdict = memory_verdict(state.spec(), figures.batch_size, dtype=figures.dtype)
    if verdict is not None and verdict.level == "error":
        st.error(f"{verdict.words()} {verdict.fix()}", icon=":material/memory:")
    elif verdict is not None and verdict.level == "warning":
        st.warning(verdict.words(), icon=":material/memory:")


def _metrics(figures: Summary) -> None:
    """Six figures in one block (one element instead of eighteen: the page reruns on every change)."""
    st.markdown(figures_html(figure_cells(figures)), unsafe_allow_html=True)
    st.caption(memory_breakdown(figures))


def batch_size_for_memory() -> None:
    settings = state.train_settings()
    info = TrainConfig.model_fields["batch_size"]
    key = f"mem_batch{state.rev()}"

    def changed() -> None:
        value = st.session_state[key]
        settings["batch_size"] = None if value is None else int(value)

    given = settings.get("batch_size")
    st.number_input("Batch size (for the memory estimate)", min_value=1, max_value=1 << 20,
                    value=None if given is None else int(given), step=8, key=key, on_change=changed,
                    placeholder=f"sized to the data ({state.batch_size()})",
                    help=f"{info.description} The same setting as on the Train page; memory grows with it.")


# ---------------------------------------------------------------------- graph
def graph_options() -> tuple[bool | None, str]:
    """How to draw the graph: (compact or None for automatic, direction), set in a popover."""
    layout, rankdir = state.ui("graph_view", "auto"), state.ui("graph_dir", "TB")
    box = st.popover("Graph view", icon=":material/tune:", key="graph_popover", on_change="rerun",
                     help="Full or compact drawing, top-down or left-to-right.")
    if box.open:
        with box:
            layout, rankdir = _graph_controls()
    compact = None if layout in (None, "auto") else layout == "compact"
    return compact, rankdir or "TB"


def _graph_controls() -> tuple[str | None, str | None]:
    layout = st.segmented_control(
        "View", ["auto", "full", "compact"], default=state.ui("graph_view", "auto"), required=True,
        key=f"graph_view{state.rev()}", on_change=_keep_ui, args=("graph_view", f"graph_view{state.rev()}"),
        help="Full: every layer. Compact: one node per block (one per run of identical blocks), readable "
        "for deep designs. Auto: compact above 8 blocks.")
    rankdir = st.segmented_control(
        "Direction", ["TB", "LR"], default=state.ui("graph_dir", "TB"), required=True,
        format_func=lambda key: {"TB": "↓ down", "LR": "→ across"}[key], key=f"graph_dir{state.rev()}",
        on_change=_keep_ui, args=("graph_dir", f"graph_dir{state.rev()}"),
        help="Which way the layers flow in the drawing.")
    return layout, rankdir


def graph(compact: bool | None, rankdir: str) -> None:
    """The design's Graphviz drawing, updated on every change (hover a node to see what it is)."""
    spec = state.spec()
    try:
        dot = to_dot(spec, compact=compact, rankdir=rankdir)
    except (ValueError, KeyError, IndexError) as exc:
        st.info(f"The graph cannot be drawn for this design yet: {exc}")
        return
    st.graphviz_chart(dot, width="content")
    if compact is None and auto_compact(spec):
        st.caption("Compact view (many blocks): choose *full* to see every layer.")


def _keep_ui(name: str, key: str) -> None:
    state.set_ui(name, st.session_state.get(key))


def explanation() -> None:
    """The idea in words, true of the current design (batch normalisation only when it has it)."""
    with st.expander("What is a residual MLP?", expanded=True, icon=":material/school:"):
        st.markdown(idea_text(state.spec().normalization))


def keras_graph() -> None:
    """On request: build the design with Keras and draw the built model's own graph."""
    spec = state.spec()
    text = spec.to_json(indent=None)
    cached = state.ui("keras_dot")
    box = st.expander("The built Keras model's graph", icon=":material/account_tree:", key="keras_graph",
                      on_change="rerun")
    if not box.open:
        return
    with box:
        if state.errors():
            st.caption("Fix the errors above first: nothing is built until the design is valid.")
            return
        if cached and cached[0] == text:
            st.graphviz_chart(cached[1], width="content")
            return
        if st.button("Build with Keras and draw it", icon=":material/construction:",
                     help="Builds the model with Keras (loads TensorFlow, a few seconds) and draws every "
                     "layer with its output shape, the base model folded into one node."):
            with st.spinner("Building the Keras model…"):
                try:
                    dot = model_to_dot(build_model(spec, compile=False))
                except Exception as exc:  # noqa: BLE001 - any build failure is shown, the app stays up
                    st.error(f"Keras could not build this design: {type(exc).__name__}: {exc}")
                    return
            state.set_ui("keras_dot", (text, dot))
            st.graphviz_chart(dot, width="content")
