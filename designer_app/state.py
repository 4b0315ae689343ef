"""Session state of the designer: the one module that owns ``st.session_state`` keys.

What a session holds:

* the current design, as the plain dict of a :class:`rmlp.ModelSpec` (and its parsed form);
* a revision number, bumped whenever the design changes outside the widgets (a preset, an
  uploaded JSON, a one-click fix, "use this data"); widget keys carry it, so every control
  re-reads the design after such a change;
* the loaded data set, the training settings, the background job and the last finished run;
* one-shot notices for the next page shown, and per-field input errors (unparsable text).

The design also lives in the URL (``?spec=``, base64url of zlib-compressed JSON) and so does the
training job's id (``?job=``): a browser refresh or a shared link restores the design, and a
reload finds a running training again.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import streamlit as st

from designer_app import datasets, jobs
from rmlp import ModelSpec, Problem, SpecError, parse_spec, set_path, validate
from rmlp.data.samples import sample
from rmlp.design.plan import PlanError
from rmlp.design.summary import Summary, summarize

#: A sample file (e.g. "wine.csv") a new session starts on when it has no link; `make app` sets it.
ENV_START_SAMPLE = "RMLP_START_SAMPLE"

# ---------------------------------------------------------------------- the keys (all of them)
_SPEC = "rmlp.spec"  # dict: ModelSpec.to_dict() of the current design
_SPEC_OBJ = "rmlp.spec_obj"  # the same, parsed
_REV = "rmlp.rev"  # int: bumped on changes made outside the widgets
_EDITOR_REV = "rmlp.editor_rev"  # int: bumped when the blocks table's edits were applied
_NOTICES = "rmlp.notices"  # list[(kind, text)] shown once
_INPUT_ERRORS = "rmlp.input_errors"  # dict[path, message] for text that could not be parsed
_DATA = "rmlp.data"  # designer_app.datasets.LoadedData | None
_TRAIN = "rmlp.train"  # dict: training settings (TrainConfig fields + split sizes)
_JOB = "rmlp.job"  # designer_app.jobs.Job | None: this session's training job
_RUN = "rmlp.run"  # RunInfo | None: the last finished run
_SEEN_END = "rmlp.seen_end"  # id of the job whose end already triggered a full rerun
_UI = "rmlp.ui"  # dict: small UI choices that must survive page switches (batch size for memory, ...)
_SEARCH = "rmlp.search"  # SearchSession: the Search page's settings, space entries, jobs and shown study
_FIT = "rmlp.fit"  # (design JSON, data in use, result of data_fit()): the fit to the data, cached
# "rmlp.uploads" (str, the name of this session's private upload folder) belongs to datasets.py
_LEARN = "rmlp.learn"  # LearnSession: the Learn page's experiment settings and jobs
_ABLATION = "rmlp.ablation"  # designer_app.jobs.Job | None: the Train page's with/without-bypass comparison

#: Query-parameter names.
QP_SPEC = "spec"
QP_JOB = "job"
QP_DATA = "data"

#: Largest decompressed design accepted from a link (a 200-block design is about 40 kB).
MAX_SPEC_BYTES = 1_000_000


# ---------------------------------------------------------------------- URL encoding
def encode_spec(spec: ModelSpec) -> str:
    """The design as a compact, URL-safe token: base64url of zlib-compressed JSON of what differs from the defaults."""
    changed = spec.model_dump(mode="json", exclude_defaults=True)
    return _encode_text(json.dumps({"spec_version": spec.spec_version, **changed}, separators=(",", ":")))


@lru_cache(maxsize=64)
def _encode_text(text: str) -> str:
    raw = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _encode_json(data: Any) -> str:
    return _encode_text(json.dumps(data, separators=(",", ":"), sort_keys=True))


def _decode_json(token: str) -> Any:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    inflater = zlib.decompressobj()
    text = inflater.decompress(raw, MAX_SPEC_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("too large")
    return json.loads(text.decode("utf-8"))


def decode_spec(token: str) -> ModelSpec:
    """The design from a token; ValueError saying what is wrong with a damaged one."""
    try:
        data = _decode_json(token)
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the link's design is damaged or too large ({type(exc).__name__})") from None
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise ValueError(str(exc)) from None


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
        job = jobs.find(st.query_params.get(QP_JOB))
        if job is not None:  # a reload: take the job back, with the data and settings it was started with
            ss[_JOB] = job
            if job.info.get("loaded") is not None:
                ss[_DATA] = job.info["loaded"]
            if job.info.get("settings"):
                ss[_TRAIN] = dict(job.info["settings"])
        if ss.get(_DATA) is None and st.query_params.get(QP_DATA):
            _restore_data(st.query_params[QP_DATA])
        elif ss.get(_DATA) is None and not token and os.environ.get(ENV_START_SAMPLE):
            _start_on_sample(os.environ[ENV_START_SAMPLE])
    sync_url()


def _start_on_sample(file: str) -> None:
    """A new session without a link starts on a shipped sample, with the design fitted to it."""
    from rmlp.data import spec_for_data

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
        info = _decode_json(token)
        if not isinstance(info, dict):
            raise ValueError("not a data set description")
        st.session_state[_DATA] = datasets.from_description(info)
    except Exception as exc:  # noqa: BLE001 - a bad or stale link only loses the data choice
        notify(f"The data set in the link could not be loaded again ({exc}); choose it on the Data page.",
               "warning")


def sync_url() -> None:
    """Write the design (and the job id) into the URL when they changed."""
    token = encode_spec(spec())
    if st.query_params.get(QP_SPEC) != token:
        st.query_params[QP_SPEC] = token
    current = job()
    if current is not None and st.query_params.get(QP_JOB) != current.id:
        st.query_params[QP_JOB] = current.id
    loaded = data()
    if loaded is not None:
        described = datasets.describe(loaded)
        data_token = _encode_json(described) if described else None
        if data_token and st.query_params.get(QP_DATA) != data_token:
            st.query_params[QP_DATA] = data_token


# ---------------------------------------------------------------------- the design
def _store(new: ModelSpec) -> None:
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
    from rmlp.spec.edit import get_path

    try:
        return get_path(spec(), path)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def path_words(path: str) -> str:
    """A field path in words: 'blocks[0].decrement' -> 'Decrement (l) of block 1'."""
    import re

    from rmlp import field_meta

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
    from rmlp.design.sizing import batch_size_for
    from rmlp.design.summary import DEFAULT_BATCH_SIZE

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
    from rmlp.data import spec_for_data

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
        from rmlp.data.split import SPLIT
        from rmlp.runs.config import TrainConfig

        st.session_state[_TRAIN] = {**TrainConfig().model_dump(), **SPLIT.model_dump()}
    return st.session_state[_TRAIN]


def set_train_setting(name: str, value: Any) -> None:
    train_settings()[name] = value


def job() -> jobs.Job | None:
    """This session's training job (running or finished), if any."""
    return st.session_state.get(_JOB)


def set_job(new: jobs.Job | None) -> None:
    st.session_state[_JOB] = new
    st.session_state.pop(_SEEN_END, None)
    st.session_state[_RUN] = None
    if new is not None:
        st.query_params[QP_JOB] = new.id
    elif QP_JOB in st.query_params:
        del st.query_params[QP_JOB]


def take_job_end(job_id: str) -> bool:
    """True the first time it is asked about a finished job: the caller then reruns the app once."""
    if st.session_state.get(_SEEN_END) == job_id:
        return False
    st.session_state[_SEEN_END] = job_id
    return True


@dataclass
class RunInfo:
    """What the app keeps of a finished training run (the model itself stays in its folder)."""

    run_dir: str
    task: str
    class_names: list[Any]
    history: dict[str, list[float]]
    test_metrics: dict[str, Any]
    status: str
    baseline: dict[str, Any] | None = None
    y_true: Any = None
    y_pred: Any = None
    notices: list[str] = field(default_factory=list)
    spec_json: str = ""
    data_name: str = ""


def last_run() -> RunInfo | None:
    """The last finished run of this session (also found again through a reloaded job)."""
    run = st.session_state.get(_RUN)
    current = job()
    if run is None and current is not None and current.finished:
        result = current.snapshot().result
        if isinstance(result, RunInfo):
            run = result
            st.session_state[_RUN] = run
    return run


def set_last_run(run: RunInfo | None) -> None:
    st.session_state[_RUN] = run


# ---------------------------------------------------------------------- the Search page
@dataclass
class SearchSession:
    """What the Search page keeps across page switches: settings, the space being edited, its jobs."""

    #: SearchConfig fields and the space's caps, as the page's controls hold them.
    settings: dict[str, Any] = field(default_factory=dict)
    #: Space path -> searched (True) or kept as designed.
    searched: dict[str, bool] = field(default_factory=dict)
    #: Space path -> the entry being edited (low/high/log or choices).
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    job: jobs.Job | None = None
    timing_job: jobs.Job | None = None
    #: (storage URL, study name) of the study on show.
    view: tuple[str, str] | None = None
    #: Id of the search job whose end already triggered a full rerun.
    seen_end: str = ""
    #: Id of the timing job ("Measure one epoch") whose end already triggered a full rerun.
    timing_seen: str = ""


def search_session() -> SearchSession:
    """This session's Search page state (made on first use)."""
    if _SEARCH not in st.session_state:
        st.session_state[_SEARCH] = SearchSession()
    return st.session_state[_SEARCH]


# ---------------------------------------------------------------------- the Learn page and the bypass comparison
@dataclass
class LearnSession:
    """What the Learn page keeps across page switches: the experiment's settings and its jobs."""

    #: ExperimentConfig fields, as the page's controls hold them.
    settings: dict[str, Any] = field(default_factory=dict)
    job: jobs.Job | None = None
    sweep: jobs.Job | None = None
    #: Bumped by "Reset": the controls' keys carry it, so they re-read the settings.
    rev: int = 0
    #: Ids of the jobs whose end already triggered a full rerun.
    seen_end: set[str] = field(default_factory=set)
    #: The URL's experiment settings were read (once per session).
    from_url: bool = False


def learn_session() -> LearnSession:
    """This session's Learn page state (made on first use)."""
    if _LEARN not in st.session_state:
        st.session_state[_LEARN] = LearnSession()
    return st.session_state[_LEARN]


def ablation_job() -> jobs.Job | None:
    """This session's with/without-bypass comparison on the Train page, if any."""
    return st.session_state.get(_ABLATION)


def set_ablation_job(new: jobs.Job | None) -> None:
    st.session_state[_ABLATION] = new
