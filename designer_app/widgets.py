"""Widgets generated from the spec's metadata table, and problems shown next to their control.

:func:`field` draws the control for one spec field path (``bypass_dropout``,
``optimizer.learning_rate``, ``base_model.input_size``...) from :func:`rmlp.field_meta`: its label,
help text, bounds, step and kind choose the widget. A change writes straight into the session's
design through :func:`designer_app.state.set_value`. The problems :func:`rmlp.validate` reports for
that path are drawn right below the control by a :class:`ProblemBoard`, with a one-click fix when
the problem carries a fix value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st
from pydantic import BaseModel

from designer_app import state
from rmlp import Problem, field_meta, get_path
from rmlp.spec.fields import FieldMeta

_NUMBER = re.compile(r"^-?\d+$")


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
    """The metadata's help, plus allowed values and the default, as a tooltip."""
    parts = [meta.help]
    bounds = meta.bounds_text()
    if bounds:
        parts.append(f"Allowed: {bounds}.")
    if meta.kind == "int_list":
        lo, hi = meta.item_min, meta.item_max
        if lo is not None and hi is not None:
            parts.append(f"Whole numbers from {lo} to {hi}, separated by commas.")
        if meta.max_items:
            parts.append(f"At most {meta.max_items} values.")
    if meta.kind == "choice" and meta.choices:
        parts.append("Choices: " + ", ".join(map(str, meta.choices)) + ".")
    parts.append(f"Default: {_fmt(meta.default)}.")
    return "\n\n".join(p for p in parts if p)


# ---------------------------------------------------------------------- problems next to controls
def _matches(problem_path: str, path: str) -> bool:
    return problem_path == path or problem_path.startswith((path + "[", path + "."))


class ProblemBoard:
    """The problems of one page run; each is drawn once, next to the first control that claims it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        self._shown: set[int] = set()

    def claim(self, *paths: str) -> list[tuple[int, Problem]]:
        """The not yet shown problems whose path is (inside) one of ``paths``; marks them shown."""
        found = []
        for i, problem in enumerate(self.problems):
            if i not in self._shown and any(_matches(problem.path, p) for p in paths):
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
    from rmlp import SpecError, set_path

    try:
        set_path(state.spec(), problem.path, problem.fix_value)
    except (SpecError, KeyError, IndexError, TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------- value conversion
def parse_int_list(text: str) -> list[int]:
    """``"75, 35"`` -> ``[75, 35]``; ValueError naming the bad item."""
    items = [t for t in re.split(r"[,;\s]+", text.strip().strip("[]()")) if t]
    bad = [t for t in items if not _NUMBER.match(t)]
    if bad:
        raise ValueError(f"'{bad[0]}' is not a whole number. Write whole numbers separated by commas, e.g. 75, 35.")
    return [int(t) for t in items]


def format_int_list(value: Sequence[int] | None) -> str:
    return ", ".join(str(v) for v in value) if value else ""


def key_for(path: str) -> str:
    """The widget key of a field: it carries the design's revision (see :mod:`designer_app.state`)."""
    return f"w{state.rev()}:{path}"


def _changed(path: str, key: str, kind: str, optional: bool) -> None:
    """Widget callback: write the widget's value into the design."""
    raw = st.session_state.get(key)
    if kind == "int_list":
        text = str(raw or "").strip()
        if not text and optional:
            state.set_value(path, None)
            return
        try:
            value: Any = parse_int_list(text)
        except ValueError as exc:
            state.set_input_error(path, str(exc))
            return
    elif kind == "int" and raw is not None:
        value = int(raw)
    elif kind == "float" and raw is not None:
        value = float(raw)
    else:
        value = raw
    state.set_value(path, value)


def _widen(lo: float | None, hi: float | None, value: Any) -> tuple[float | None, float | None]:
    """Bounds that include the current value (an invalid value must still show; validation names it)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo:
            lo = value
        if hi is not None and value > hi:
            hi = value
    return lo, hi


# ---------------------------------------------------------------------- the generated widget
def field(
    path: str,
    board: ProblemBoard | None = None,
    *,
    label: str | None = None,
    options: Sequence[Any] | None = None,
    format_func: Callable[[Any], str] | None = None,
    disabled: bool = False,
) -> None:
    """Draw the control for ``path`` from its metadata, then its problems (and input error)."""
    meta = field_meta(path)
    value = get_path(state.spec_dict(), path)
    key = key_for(path)
    label = label or meta.label
    tip = help_text(meta)
    args = (path, key, meta.kind, meta.optional)
    common: dict[str, Any] = {"key": key, "help": tip, "on_change": _changed, "args": args, "disabled": disabled}

    if meta.kind == "bool":
        st.toggle(label, value=bool(value), **common)
    elif meta.kind == "choice":
        choices = list(options if options is not None else meta.choices)
        if value not in choices:
            choices.insert(0, value)
        st.selectbox(label, choices, index=choices.index(value), format_func=format_func or str, **common)
    elif meta.kind == "int":
        lo, hi = _widen(meta.min, meta.max, value)
        st.number_input(label, min_value=None if lo is None else int(lo), max_value=None if hi is None else int(hi),
                        value=None if value is None else int(value), step=int(meta.step or 1), **common)
    elif meta.kind == "float":
        _float_widget(meta, label, value, common)
    elif meta.kind == "int_list":
        st.text_input(label, value=format_int_list(value), placeholder="none" if meta.optional else "e.g. 64, 32",
                      **common)
    else:
        st.text_input(label, value="" if value is None else str(value), **common)
    error = state.input_error(path)
    if error:
        st.error(error, icon=":material/edit_off:")
    if board is not None:
        board.show(path)


def _float_widget(meta: FieldMeta, label: str, value: Any, common: dict[str, Any]) -> None:
    lo = None if meta.min is None else float(meta.min)
    hi = None if meta.max is None else float(meta.max)
    step = float(meta.step) if meta.step else None
    if lo is not None and hi is not None and step and not meta.log and value is not None:
        if meta.exclusive_max:
            hi = round(hi - step, 10)
        lo, hi = _widen(lo, hi, value)
        st.slider(label, min_value=lo, max_value=hi, value=float(value), step=step, **common)
        return
    if meta.exclusive_min:
        lo = None
    if meta.exclusive_max:
        hi = None
    lo, hi = _widen(lo, hi, value)
    fmt = meta.extra.get("format") or ("%.6g" if meta.log else None)
    st.number_input(label, min_value=lo, max_value=hi, value=None if value is None else float(value),
                    step=step or (None if value is None else max(float(value) / 10, 1e-6)), format=fmt,
                    placeholder="none" if meta.optional else None, **common)


# ---------------------------------------------------------------------- settings models (TrainConfig ...)
def _bounds(info: Any) -> tuple[float | None, float | None]:
    lo = hi = None
    for item in info.metadata:
        lo = getattr(item, "ge", lo)
        hi = getattr(item, "le", hi)
    return lo, hi


def setting(model: type[BaseModel], name: str, values: dict[str, Any], *, key_prefix: str = "set",
            disabled: bool = False, label: str | None = None, **overrides: Any) -> Any:
    """A widget for one field of a settings model (title, description and bounds from its Field).

    The value lives in ``values`` (a dict kept in session state), so it survives page switches.
    """
    info = model.model_fields[name]
    key = f"{key_prefix}{state.rev()}:{name}"
    value = values.get(name, info.default)
    lo, hi = _bounds(info)
    lo, hi = overrides.pop("min_value", lo), overrides.pop("max_value", hi)

    def changed() -> None:
        values[name] = st.session_state[key]

    common: dict[str, Any] = {"key": key, "help": info.description, "on_change": changed, "disabled": disabled}
    label = label or info.title or name
    if isinstance(value, bool):
        return st.toggle(label, value=value, **common)
    if isinstance(value, int):
        return st.number_input(label, min_value=lo, max_value=hi, value=value, step=1, **common, **overrides)
    if isinstance(value, float):
        return st.number_input(label, min_value=lo, max_value=hi, value=value, **common, **overrides)
    return st.text_input(label, value=str(value), **common)
