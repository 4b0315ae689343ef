"""The one widget renderer: every control is drawn from its setting's declaration.

:func:`control` turns a :class:`~rmlp.spec.fields.FieldMeta` (label, help, bounds, step, kind)
into a Streamlit widget; two front ends use it:

* :func:`field` for one spec field path (``bypass_dropout``, ``optimizer.learning_rate``,
  ``base_model.input_size``...): a change writes into the session's design through
  :func:`designer_app.state.set_value`, and the problems :func:`rmlp.validate` reports for the path
  are drawn right below the control by a :class:`ProblemBoard`, with a one-click fix when the
  problem carries a fix value;
* :func:`setting` and :func:`settings_grid` for a settings model (training, search): the value
  lives in a dict kept in session state, and the field's own check is shown below the control.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st
from pydantic import BaseModel

from designer_app import state
from rmlp import Problem, SpecError, field_meta, get_path, set_path
from rmlp.spec.fields import FieldMeta, field_table, format_int_list, parse_int_list
from rmlp.spec.paths import is_within


# ---------------------------------------------------------------------- help text
def _fmt(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]" if value else "empty list"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def help_text(meta: FieldMeta) -> str:
    """The setting's help with what is allowed, and its default, as a tooltip."""
    return f"{meta.describe()}\n\nDefault: {_fmt(meta.default)}."


# ---------------------------------------------------------------------- problems next to controls
class ProblemBoard:
    """The problems of one page run; each is drawn once, next to the first control that claims it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        self._shown: set[int] = set()

    def claim(self, *paths: str) -> list[tuple[int, Problem]]:
        """The not yet shown problems whose path is (inside) one of ``paths``; marks them shown."""
        found = []
        for i, problem in enumerate(self.problems):
            if i not in self._shown and any(is_within(problem.path, p) for p in paths):
                self._shown.add(i)
                found.append((i, problem))
        return found

    def show(self, *paths: str) -> int:
        """Draw the problems of ``paths`` here; returns how many."""
        claimed = self.claim(*paths)
        for i, problem in claimed:
            show_problem(problem, key=f"fix{state.rev()}.{i}")
        return len(claimed)

    def rest(self) -> list[tuple[int, Problem]]:
        """Problems no control claimed (shown in a general list)."""
        return [(i, p) for i, p in enumerate(self.problems) if i not in self._shown]

    def show_rest(self) -> int:
        rest = self.rest()
        for i, problem in rest:
            self._shown.add(i)
            where = f"`{problem.path}`: " if problem.path else ""
            show_problem(problem, key=f"fix{state.rev()}.{i}", prefix=where)
        return len(rest)


def show_problem(problem: Problem, *, key: str, prefix: str = "") -> None:
    """One problem in plain words, with its fix and a fix button when there is an obvious value."""
    text = f"{prefix}{problem.message}"
    if problem.fix:
        text += f"  \n**Fix:** {problem.fix}"
    if problem.severity == "error":
        st.error(text, icon=":material/error:")
    else:
        st.warning(text, icon=":material/warning:")
    if problem.fix_value is not None and _fix_fits(problem):
        st.button(f"Apply fix: set to {_fmt(problem.fix_value)}", key=key, on_click=state.apply_fix,
                  args=(problem.path, problem.fix_value), help=problem.fix or None, type="tertiary",
                  icon=":material/build:")


def _fix_fits(problem: Problem) -> bool:
    """True when the problem's fix value can be written to its path (else no button is offered)."""
    try:
        set_path(state.spec(), problem.path, problem.fix_value)
    except (SpecError, KeyError, IndexError, TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------- value conversion
def _read(meta: FieldMeta, raw: Any) -> Any:
    """The widget's raw value as the setting's type; ValueError for text that is not a list of numbers."""
    if meta.kind == "int_list":
        text = str(raw or "").strip()
        return None if not text and meta.optional else parse_int_list(text)
    if meta.kind == "int" and raw is not None:
        return int(raw)
    if meta.kind == "float" and raw is not None:
        return float(raw)
    return raw


def _widen(lo: float | None, hi: float | None, value: Any) -> tuple[Any, Any]:
    """Bounds that include the current value (an invalid value must still show; validation names it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo:
            lo = value
        if hi is not None and value > hi:
            hi = value
    return lo, hi


# ---------------------------------------------------------------------- the one renderer
def control(meta: FieldMeta, value: Any, *, key: str, on_change: Callable[..., None], args: tuple[Any, ...] = (),
            label: str | None = None, options: Sequence[Any] | None = None,
            format_func: Callable[[Any], str] | None = None, disabled: bool = False) -> Any:
    """The widget for one setting, chosen by its kind and bounds; ``on_change(*args)`` runs on a change."""
    label = label or meta.label
    common: dict[str, Any] = {"key": key, "help": help_text(meta), "on_change": on_change, "args": args,
                              "disabled": disabled}
    if meta.kind == "bool":
        return st.toggle(label, value=bool(value), **common)
    if meta.kind == "choice" or options is not None:
        choices = list(options if options is not None else meta.choices)
        if value not in choices:
            choices.insert(0, value)
        return st.selectbox(label, choices, index=choices.index(value), format_func=format_func or str, **common)
    if meta.kind == "int":
        lo, hi = _widen(meta.low, meta.high, value)
        return st.number_input(label, min_value=None if lo is None else int(lo),
                               max_value=None if hi is None else int(hi), value=None if value is None else int(value),
                               step=int(meta.step or 1), placeholder=meta.empty if meta.optional else None, **common)
    if meta.kind == "float":
        return _float_control(meta, label, value, common)
    if meta.kind == "int_list":
        hint = meta.empty if meta.optional else "e.g. 64, 32"
        return st.text_input(label, value=format_int_list(value), placeholder=hint, **common)
    return st.text_input(label, value="" if value is None else str(value), **common)


def _float_control(meta: FieldMeta, label: str, value: Any, common: dict[str, Any]) -> Any:
    lo, hi, step = meta.low, meta.high, meta.step
    if lo is not None and hi is not None and step and not meta.log and value is not None:
        if meta.high_open:
            hi = round(hi - step, 10)
        lo, hi = _widen(lo, hi, value)
        return st.slider(label, min_value=float(lo), max_value=float(hi), value=float(value), step=float(step),
                         **common)
    lo = None if meta.low_open or lo is None else float(lo)
    hi = None if meta.high_open or hi is None else float(hi)
    lo, hi = _widen(lo, hi, value)
    fmt = meta.format or ("%.6g" if meta.log else "%g")  # 60, 12053, 0.5: never "60.00"
    return st.number_input(label, min_value=lo, max_value=hi, value=None if value is None else float(value),
                           step=float(step) if step else (None if value is None else max(float(value) / 10, 1e-6)),
                           format=fmt, placeholder=meta.empty if meta.optional else None, **common)


# ---------------------------------------------------------------------- spec fields
def key_for(path: str) -> str:
    """The widget key of a field: it carries the design's revision (see :mod:`designer_app.state`)."""
    return f"w{state.rev()}:{path}"


def _spec_changed(path: str, key: str) -> None:
    """Widget callback: write the widget's value into the design."""
    try:
        value = _read(field_meta(path), st.session_state.get(key))
    except ValueError as exc:
        state.set_input_error(path, str(exc))
        return
    state.set_value(path, value)


def field(
    path: str,
    board: ProblemBoard | None = None,
    *,
    label: str | None = None,
    options: Sequence[Any] | None = None,
    format_func: Callable[[Any], str] | None = None,
    disabled: bool = False,
) -> None:
    """Draw the control for spec field ``path``, then its problems (and input error).

    The control is off while the field has no effect in the design (its declaration's ``when``:
    a dropout rate with batch normalisation, say).
    """
    key = key_for(path)
    meta, design = field_meta(path), state.spec_dict()
    control(meta, get_path(design, path), key=key, on_change=_spec_changed, args=(path, key), label=label,
            options=options, format_func=format_func, disabled=disabled or not meta.applies(design))
    error = state.input_error(path)
    if error:
        st.error(error, icon=":material/edit_off:")
    if board is not None:
        board.show(path)


# ---------------------------------------------------------------------- settings models (training, search)
def setting(model: type[BaseModel], name: str, values: dict[str, Any], *, key_prefix: str = "set",
            disabled: bool = False, label: str | None = None, options: Sequence[Any] | None = None,
            format_func: Callable[[Any], str] | None = None) -> Any:
    """The control for one field of a settings model; its value lives in ``values`` (kept in session state).

    The field's own check (bounds, type) is shown under the control when the value does not fit.
    """
    meta = field_table(model)[name]
    key = f"{key_prefix}{state.rev()}:{name}"
    if name not in values:
        values[name] = meta.default

    def changed() -> None:
        try:
            values[name] = _read(meta, st.session_state[key])
        except ValueError as exc:
            st.session_state[f"{key}:error"] = str(exc)
        else:
            st.session_state.pop(f"{key}:error", None)

    shown = control(meta, values[name], key=key, on_change=changed, label=label, options=options,
                    format_func=format_func, disabled=disabled)
    problems = [st.session_state.get(f"{key}:error")] if st.session_state.get(f"{key}:error") else [
        p.message for p in meta.check(name, values[name])]
    for message in problems:
        st.error(message, icon=":material/error:")
    return shown


def shown_settings(model: type[BaseModel], group: str = "", skip: Sequence[str] = ()) -> list[str]:
    """The fields of ``model`` the app offers in ``group`` (hidden ones and ``skip`` left out)."""
    return [name for name, meta in field_table(model).items()
            if "." not in name and not meta.hidden and meta.group == group and name not in skip]


def settings_grid(model: type[BaseModel], values: dict[str, Any], *, key_prefix: str, disabled: bool = False,
                  group: str = "", skip: Sequence[str] = (), columns: int = 4) -> None:
    """Every offered field of ``model`` in ``group``, in a grid; a field that has no effect (its ``when``) is off."""
    names = shown_settings(model, group, skip)
    table = field_table(model)
    cols = st.columns(columns)
    for i, name in enumerate(names):
        with cols[i % columns]:
            setting(model, name, values, key_prefix=key_prefix, disabled=disabled or not table[name].applies(values))
