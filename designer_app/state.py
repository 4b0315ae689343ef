"""Session state of the designer: the session core, which owns the design's and the data's ``st.session_state`` keys.

What the core holds:

* the current design, as the plain dict of a :class:`rmlp.ModelSpec` (and its parsed form);
* a revision number, bumped whenever the design changes outside the widgets (a preset, an
  uploaded JSON, a one-click fix, "use this data"); widget keys carry it, so every control
  re-reads the design after such a change;
* the loaded data set and the training settings, and the cached checks and figures of the design;
* one-shot notices for the next page shown, and per-field input errors (unparsable text).

Each page with jobs keeps its own part beside it: :mod:`designer_app.train_session` (the training job, the
last finished run, the bypass comparison), :mod:`designer_app.search_session` and
:mod:`designer_app.learn_session`. The design and the data set in use also live in the URL
(:mod:`designer_app.links`): :func:`init` reads them back, :func:`sync_url` writes them.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from designer_app import datasets, search_session, server, train_session
from designer_app.links import QP_DATA, QP_SPEC, decode_json, decode_spec, encode_json, encode_spec
from rmlp import ModelSpec, Problem, SpecError, field_meta, parse_spec, set_path, validate
from rmlp.data import spec_for_data
from rmlp.data.samples import sample
from rmlp.data.split import SPLIT
from rmlp.design.plan import PlanError
from rmlp.design.sizing import batch_size_for
from rmlp.design.summary import DEFAULT_BATCH_SIZE, Summary, summarize
from rmlp.runs.config import TrainConfig
from rmlp.spec.edit import get_path

#: A sample file (e.g. "wine.csv") a new session starts on when it has no link; `make app` sets it.
ENV_START_SAMPLE = "RMLP_START_SAMPLE"

# ---------------------------------------------------------------------- the keys of the core
# (each page's own keys are in its session module: train_session, search_session, learn_session)
_SPEC = "rmlp.spec"  # dict: ModelSpec.to_dict() of the current design
_SPEC_OBJ = "rmlp.spec_obj"  # the same, parsed
_REV = "rmlp.rev"  # int: bumped on changes made outside the widgets
_EDITOR_REV = "rmlp.editor_rev"  # int: bumped when the blocks table's edits were applied
_NOTICES = "rmlp.notices"  # list[(kind, text)] shown once
_INPUT_ERRORS = "rmlp.input_errors"  # dict[path, message] for text that could not be parsed
_DATA = "rmlp.data"  # designer_app.datasets.LoadedData | None
_TRAIN = "rmlp.train"  # dict: training settings (TrainConfig fields + split sizes)
_UI = "rmlp.ui"  # dict: small UI choices that must survive page switches (batch size for memory, ...)
_FIT = "rmlp.fit"  # (design JSON, data in use, result of data_fit()): the fit to the data, cached
# "rmlp.uploads" (str, the name of this session's private upload folder) belongs to datasets.py

#: What a visitor is told when a design names a base-model file outside their session and the samples
#: (the same words whether that file exists or not).
BASE_PATH_LEFT_OUT = ("The design's base-model file is not one of this session's uploads or the shipped samples, "
                      "so it was left out. Upload the .keras file on the Design page.")


# ---------------------------------------------------------------------- session setup
def default_spec() -> ModelSpec:
    """The design a new session starts from (the original package's README example)."""
    return ModelSpec()


def init() -> None:
    """Set up a new session from the URL (design and job); later calls only keep it in sync."""
    ss = st.session_state
    if _SPEC not in ss:
        ss[_REV] = 0
        ss[_EDITOR_REV] = 0
        ss[_NOTICES] = []
        ss[_INPUT_ERRORS] = {}
        spec = None
        token = st.query_params.get(QP_SPEC)
        if token:
            try:
                spec = decode_spec(token)
            except ValueError as exc:
                notify(f"The design in the link could not be read: {exc}. Starting from the default design.",
                       "warning")
        _store(spec or default_spec())
        _reclaim_jobs()
        if ss.get(_DATA) is None and st.query_params.get(QP_DATA):
            _restore_data(st.query_params[QP_DATA])
        elif ss.get(_DATA) is None and not token and os.environ.get(ENV_START_SAMPLE):
            _start_on_sample(os.environ[ENV_START_SAMPLE])
    sync_url()


def _reclaim_jobs() -> None:
    """A reload in the same browser takes back its training (with its data and settings) and its search."""
    ctx = get_script_run_ctx(suppress_warning=True)
    key, owner = server.browser_key(), ctx.session_id if ctx is not None else ""
    ss = st.session_state
    job = train_session.reclaim(key, owner)
    if job is not None:
        if job.info.get("loaded") is not None:
            ss[_DATA] = job.info["loaded"]
        if job.info.get("settings"):
            ss[_TRAIN] = dict(job.info["settings"])
    search = search_session.reclaim(key, owner)
    for found in (job, search):
        reason = found.snapshot().stop_reason if found is not None else ""
        if reason:
            notify(f"Your {found.name}: {reason}", "warning")  # type: ignore[union-attr]
    if job is None and key:
        for folder, what in server.interrupted_runs_of(server.runs_dir(), key):
            notify(f"Your training in {folder.name} was interrupted: {what}", "warning")


def _start_on_sample(file: str) -> None:
    """A new session without a link starts on a shipped sample, with the design fitted to it."""
    chosen = sample(file)
    if chosen is None or not chosen.path.is_file():
        return
    try:
        loaded = datasets.load(chosen.path, kind=chosen.kind, target=chosen.target)
    except Exception as exc:  # noqa: BLE001 - the app still opens, without data
        notify(f"The sample {file} could not be loaded ({exc}).", "warning")
        return
    st.session_state[_DATA] = loaded
    fitted, _ = spec_for_data(spec(), loaded.data)
    _store(fitted)
    notify(f"Started on the sample data set {chosen.title}; change it on the Data page.", "info")


def _restore_data(token: str) -> None:
    try:
        info = decode_json(token)
        if not isinstance(info, dict):
            raise ValueError("not a data set description")
        st.session_state[_DATA] = datasets.from_description(info)
    except Exception as exc:  # noqa: BLE001 - a bad or stale link only loses the data choice
        notify(f"The data set in the link could not be loaded again ({exc}); choose it on the Data page.",
               "warning")


def sync_url() -> None:
    """Write the design (and the data set in use) into the URL when they changed."""
    token = encode_spec(spec())
    if st.query_params.get(QP_SPEC) != token:
        st.query_params[QP_SPEC] = token
    loaded = data()
    if loaded is not None:
        described = datasets.describe(loaded)
        data_token = encode_json(described) if described else None
        if data_token and st.query_params.get(QP_DATA) != data_token:
            st.query_params[QP_DATA] = data_token


# ---------------------------------------------------------------------- the design
def _own_base_model(new: ModelSpec) -> ModelSpec:
    """``new`` with a base-model path outside this session's uploads and the samples left out (and a notice)."""
    bm = new.base_model
    if bm is None or not bm.path:
        return new
    kept = datasets.own_base_model(bm.path)
    if kept == bm.path:
        return new
    if kept is None:
        notify(BASE_PATH_LEFT_OUT, "warning")
    return new.copy_with(base_model=bm.model_dump() | {"path": kept or ""})


def _store(new: ModelSpec) -> None:
    new = _own_base_model(new)
    st.session_state[_SPEC] = new.to_dict()
    st.session_state[_SPEC_OBJ] = new


def spec() -> ModelSpec:
    """The current design (parsed)."""
    obj = st.session_state.get(_SPEC_OBJ)
    if obj is None:
        obj = parse_spec(st.session_state.get(_SPEC) or default_spec().to_dict())
        st.session_state[_SPEC_OBJ] = obj
    return obj


def spec_dict() -> dict[str, Any]:
    """The current design as a plain dict (do not modify it)."""
    if _SPEC not in st.session_state:
        _store(spec())
    return st.session_state[_SPEC]


def rev() -> int:
    """The revision widget keys carry; it changes when the design changed outside the widgets."""
    return int(st.session_state.get(_REV, 0))


def editor_rev() -> int:
    """The revision of the blocks table's key (its edits are applied, then it starts afresh)."""
    return int(st.session_state.get(_EDITOR_REV, 0))


def bump_editor() -> None:
    st.session_state[_EDITOR_REV] = editor_rev() + 1


def set_spec(new: ModelSpec, *, external: bool = True) -> None:
    """Replace the design; ``external`` (a preset, an upload, a fix) makes every widget re-read it."""
    _store(new)
    if external:
        st.session_state[_REV] = rev() + 1
        st.session_state[_INPUT_ERRORS] = {}


def set_value(path: str, value: Any) -> bool:
    """Set one field from its widget; False (and an input error for the field) when it does not fit."""
    try:
        new = set_path(spec(), path, value)
    except (SpecError, KeyError, IndexError, TypeError) as exc:
        set_input_error(path, f"This value does not fit: {exc}")
        return False
    clear_input_error(path)
    _store(new)
    return True


def apply_fix(path: str, value: Any) -> None:
    """Apply a problem's one-click fix (a button callback)."""
    try:
        new = set_path(spec(), path, value)
    except (SpecError, KeyError, IndexError, TypeError) as exc:
        notify(f"That fix could not be applied automatically ({exc}). Change the value by hand.", "error")
        return
    before = {(p.path, p.message) for p in problems()}
    old = _value_at(path)
    set_spec(new)
    was = "" if old is None else f" (was {old!r})"
    notify(f"Fixed: {path_words(path)} set to {value!r}{was}.", "success")
    for problem in problems():
        if (problem.path, problem.message) not in before:
            notify(f"A new {problem.severity} follows from the fix just applied ({path_words(path)} = "
                   f"{value!r}): {problem.message}" + (f" Fix: {problem.fix}" if problem.fix else ""), "warning")


def _value_at(path: str) -> Any:
    try:
        return get_path(spec(), path)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def path_words(path: str) -> str:
    """A field path in words: 'blocks[0].decrement' -> 'Decrement (l) of block 1'."""
    block = re.match(r"blocks\[(\d+)\]", path)
    if block and path == block.group(0):
        return f"block {int(block.group(1)) + 1}"
    try:
        label = field_meta(re.sub(r"\[\d+\]", "[]", path)).label
    except (KeyError, ValueError):
        return f"block {int(block.group(1)) + 1}" if block else path
    return f"{label} of block {int(block.group(1)) + 1}" if block else label


def input_error(path: str) -> str:
    return st.session_state.get(_INPUT_ERRORS, {}).get(path, "")


def set_input_error(path: str, message: str) -> None:
    st.session_state.setdefault(_INPUT_ERRORS, {})[path] = message


def clear_input_error(path: str) -> None:
    st.session_state.setdefault(_INPUT_ERRORS, {}).pop(path, None)


# ---------------------------------------------------------------------- checks and figures (cached)
@lru_cache(maxsize=128)
def _problems_of(text: str) -> tuple[Problem, ...]:
    return tuple(validate(ModelSpec.model_validate_json(text)))


def problems() -> list[Problem]:
    """Everything :func:`rmlp.validate` says about the current design (errors first)."""
    return list(_problems_of(spec().to_json(indent=None)))


def errors() -> list[Problem]:
    return [p for p in problems() if p.severity == "error"]


@lru_cache(maxsize=128)
def _summary_of(text: str, batch_size: int, dtype: str) -> Summary | str:
    try:
        return summarize(ModelSpec.model_validate_json(text), batch_size=batch_size, dtype=dtype)
    except PlanError as exc:
        return str(exc)
    except (ValueError, ZeroDivisionError, IndexError, KeyError) as exc:
        return f"The figures cannot be computed for this design yet: {exc}"


def batch_size() -> int:
    """The batch size training will use: the setting, else the one sized to the table in use, else 32."""
    given = train_settings().get("batch_size")
    if given:
        return int(given)
    loaded = data()
    rows = len(getattr(loaded.data, "x_train", [])) if loaded is not None else 0
    return batch_size_for(rows) if rows else DEFAULT_BATCH_SIZE


def summary(batch_size_: int | None = None, dtype: str = "float32") -> Summary | str:
    """The design's figures, or a sentence saying why they cannot be computed yet."""
    return _summary_of(spec().to_json(indent=None), int(batch_size_ or batch_size()), dtype)


def forget_cached_checks() -> None:
    """Drop cached checks (after a base-model file was inspected, say)."""
    _problems_of.cache_clear()
    _summary_of.cache_clear()


# ---------------------------------------------------------------------- notices
def notify(text: str, kind: str = "info") -> None:
    """A message for the top of the next page drawn (kind: info, success, warning, error)."""
    st.session_state.setdefault(_NOTICES, []).append((kind, text))


def pop_notices() -> list[tuple[str, str]]:
    notices = list(st.session_state.get(_NOTICES, []))
    st.session_state[_NOTICES] = []
    return notices


# ---------------------------------------------------------------------- UI choices
def ui(name: str, default: Any = None) -> Any:
    """A small UI choice that survives page switches (widget state does not)."""
    return st.session_state.setdefault(_UI, {}).get(name, default)


def set_ui(name: str, value: Any) -> None:
    st.session_state.setdefault(_UI, {})[name] = value


# ---------------------------------------------------------------------- data, training, runs
def data() -> Any:
    """The loaded data set (:class:`designer_app.datasets.LoadedData`) or None."""
    return st.session_state.get(_DATA)


def set_data(loaded: Any) -> None:
    st.session_state[_DATA] = loaded


def data_fit() -> tuple[ModelSpec, list[str]] | None:
    """What Train will change to fit the design to the data in use: (fitted design, what changed, in words).

    None without data or when the design already fits (Train fits it with :func:`rmlp.data.spec_for_data`).
    """
    loaded = data()
    if loaded is None:
        return None
    text = spec().to_json(indent=None)
    cached = st.session_state.get(_FIT)
    if cached is not None and cached[0] == text and cached[1] is loaded:
        return cached[2]

    try:
        fitted, notices = spec_for_data(spec(), loaded.data)
    except (ValueError, TypeError, KeyError, AttributeError):
        fitted, notices = spec(), []
    result = None if fitted.to_json(indent=None) == text else (fitted, [str(n) for n in notices])
    st.session_state[_FIT] = (text, loaded, result)
    return result


def fit_to_data() -> None:
    """Fit the design to the data in use now, as Train would (a button callback)."""
    fit, loaded = data_fit(), data()
    if fit is None or loaded is None:
        return
    set_spec(fit[0])
    notify(f"Design fitted to {loaded.name}: " + " ".join(fit[1]), "success")


def train_settings() -> dict[str, Any]:
    """Training settings of this session: the TrainConfig fields plus the split fractions (their defaults)."""
    if _TRAIN not in st.session_state:
        st.session_state[_TRAIN] = {**TrainConfig().model_dump(), **SPLIT.model_dump()}
    return st.session_state[_TRAIN]


def set_train_setting(name: str, value: Any) -> None:
    train_settings()[name] = value
