"""The one vocabulary for every user-facing setting: a field helper, its metadata, and its checks.

Every setting a user can change (a model-spec field, a training setting, a search setting) is
declared once with :func:`setting`. The declaration carries its label, help text, allowed values
(an :class:`Interval` for numbers and list items), widget hints, whether and how a search may vary
it, and when it applies. Everything else reads that one declaration:

* :func:`field_table` lists the metadata of a settings model (nested models included), by pattern;
* :meth:`FieldMeta.check` tests a value and words the problem (the validator, the search space and
  the app all use it, so a bound is written, and explained, in one place);
* the app draws its controls from it, the command line its options, the search its default space.

Patterns name a field of every list item with ``[]``: ``blocks[].width``, ``final_layers``.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError, PydanticUndefined

from rmlp.spec.paths import get_in, pattern_of, values_at
from rmlp.spec.problems import Problem, SettingsError, problems_from_validation_error

Kind = Literal["int", "float", "bool", "str", "choice", "int_list", "model", "model_list", "other"]

__all__ = [
    "SETTINGS_CONFIG", "FieldMeta", "Interval", "Kind", "Search", "Settings", "StrictSettings", "When", "check_values",
    "field_table", "format_int_list", "iter_applicable", "label_finder", "parse_int_list", "parse_settings", "reuse",
    "setting",
]


# ----------------------------------------------------------------------------- allowed numbers
def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _g(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Interval:
    """The numbers a setting allows: membership, the words that explain it, and the nearest fit.

    ``low``/``high`` of None are unbounded; ``low_open``/``high_open`` exclude the end itself.
    Infinity and NaN are never inside (a bound check that let NaN through would train on NaN).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: object) -> bool:
        if not _is_number(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
            return False
        x = float(value)  # type: ignore[arg-type]
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        return not (self.high is not None and (x > self.high or (self.high_open and x == self.high)))

    def text(self) -> str:
        """``≥ 1 and ≤ 50``, ``> 0``, or "" when unbounded."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '≥'} {_g(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '≤'} {_g(self.high)}")
        return " and ".join(parts)

    def nearest(self, value: float, step: float | None = None, integer: bool = False) -> float:
        """The allowed value closest to ``value`` (an open end is approached by one step)."""
        x = float(value) if _is_number(value) and math.isfinite(float(value)) else math.nan
        if math.isnan(x):  # no direction to go: the middle, or whichever end exists
            lo = self.low if self.low is not None else self.high
            x = lo if lo is not None else 0.0
            if self.low is not None and self.high is not None:
                x = (self.low + self.high) / 2
        if self.low is not None and x <= self.low:
            if not self.low_open:
                return self.low
            return step or (self.low * 10 if self.low else 1e-6)
        if self.high is not None and x >= self.high:
            if not self.high_open:
                return self.high
            return round(self.high - (step or (1 if integer else 0.05)), 6)
        return round(x) if integer else x

    def to_schema(self) -> dict[str, float]:
        """The interval as JSON-schema keywords (minimum, exclusiveMaximum, ...)."""
        out: dict[str, float] = {}
        if self.low is not None:
            out["exclusiveMinimum" if self.low_open else "minimum"] = self.low
        if self.high is not None:
            out["exclusiveMaximum" if self.high_open else "maximum"] = self.high
        return out


# ----------------------------------------------------------------------------- a list of numbers as text
_WHOLE = re.compile(r"^-?\d+$")


def parse_int_list(text: str) -> list[int]:
    """``"75, 35"`` (or ``"[75 35]"``) -> ``[75, 35]``; ValueError naming the item that is not a whole number."""
    items = [t for t in re.split(r"[,;\s]+", text.strip().strip("[]()")) if t]
    bad = [t for t in items if not _WHOLE.match(t)]
    if bad:
        raise ValueError(f"'{bad[0]}' is not a whole number. Write whole numbers separated by commas, e.g. 75, 35.")
    return [int(t) for t in items]


def format_int_list(value: list[int] | tuple[int, ...] | None) -> str:
    """``[75, 35]`` -> ``"75, 35"`` (an empty or missing list is "")."""
    return ", ".join(str(v) for v in value) if value else ""


# ----------------------------------------------------------------------------- search and conditions
@dataclass(frozen=True)
class Search:
    """How a default search varies a setting: a ``low``..``high`` range (``log`` scale) or ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None

    def entry(self) -> dict[str, Any]:
        """The entry as a search-space file writes it."""
        if self.choices is not None:
            return {"choices": [list(c) if isinstance(c, tuple) else c for c in self.choices]}
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        return out


@dataclass(frozen=True)
class When:
    """A setting applies only when another one (``path``) has one of ``values``, or is non-empty."""

    path: str
    values: tuple[Any, ...] = ()
    nonempty: bool = False

    def holds(self, data: dict[str, Any]) -> bool:
        try:
            value = get_in(data, self.path)
        except (KeyError, IndexError, TypeError):
            return False
        if self.nonempty:
            return bool(value)
        return value in self.values


# ----------------------------------------------------------------------------- the metadata
@dataclass(frozen=True)
class FieldMeta:
    """Everything the app, the command line, the validator and the search know about one setting."""

    pattern: str
    name: str
    label: str
    help: str
    kind: Kind
    default: Any = None
    optional: bool = False
    choices: tuple[Any, ...] = ()
    #: Allowed values of a number, or of each item of a list of numbers.
    interval: Interval | None = None
    min_items: int | None = None
    max_items: int | None = None
    length: int | None = None
    step: float | None = None
    log: bool = False
    #: printf-style format of a number box (e.g. "%.5f").
    format: str | None = None
    hidden: bool = False
    #: Where the app shows it: "" with the main settings, "advanced" folded away.
    group: str = ""
    #: The range or choices a default search gives it (None: a search keeps the value unless told).
    search: Search | None = None
    #: False: the data or the task decide it, so a search may only pin it.
    searchable: bool = True
    #: It has an effect only when all of these hold (e.g. a dropout rate needs the dropout regulariser).
    when: tuple[When, ...] = ()
    #: Command-line flags: () for ``--field-name``; the long flag first when given. None: not offered.
    cli: tuple[str, ...] | None = ()
    #: What an empty value of an optional setting means, in a word or two (the app's placeholder).
    empty: str = "none"

    # ------------------------------------------------------------------ bounds
    @property
    def low(self) -> float | None:
        """Smallest allowed number (of the value, or of each list item); None when unbounded."""
        return None if self.interval is None else self.interval.low

    @property
    def high(self) -> float | None:
        return None if self.interval is None else self.interval.high

    @property
    def low_open(self) -> bool:
        return self.interval is not None and self.interval.low_open

    @property
    def high_open(self) -> bool:
        return self.interval is not None and self.interval.high_open

    # ------------------------------------------------------------------ words
    def bounds_text(self) -> str:
        return self.interval.text() if self.interval is not None else ""

    def describe(self, choices: bool = True) -> str:
        """The help text with what is allowed (tooltips, --help); ``choices=False`` leaves the choices out."""
        parts = [self.help]
        allowed = self.bounds_text()
        if allowed and self.kind in ("int", "float"):
            parts.append(f"Allowed: {allowed}.")
        elif allowed and self.kind == "int_list":
            parts.append(f"Each value {allowed}, separated by commas.")
        if self.max_items and self.kind == "int_list":
            parts.append(f"At most {self.max_items} values.")
        if choices and self.kind == "choice" and self.choices:
            parts.append("Choices: " + ", ".join(map(str, self.choices)) + ".")
        return " ".join(p for p in parts if p)

    def applies(self, data: dict[str, Any]) -> bool:
        """Whether this setting has an effect in ``data`` (the dict form of its model)."""
        return all(cond.holds(data) for cond in self.when)

    # ------------------------------------------------------------------ checks
    def check(self, path: str, value: Any) -> list[Problem]:
        """Problems of ``value`` at ``path``: its type, then the allowed values; empty when it fits."""
        if value is None:
            if self.optional or self.default is None:
                return []
            return [Problem(path, "error", f"{self.label} needs a value.", f"Set it to {self.default!r}.",
                            self.default)]
        wrong = self.type_problem(value)
        if wrong:
            return [Problem(path, "error", f"{self.label}: {value!r} {wrong}.", "Give a value of the right type.")]
        if self.kind in ("int", "float"):
            return self._check_number(path, value)
        if self.kind == "int_list":
            return self._check_list(path, value)
        if self.kind == "model_list":
            return self._check_length(path, value)
        if self.kind == "choice" and self.choices and value not in self.choices:
            shown = ", ".join(map(repr, self.choices))
            return [Problem(path, "error", f"{self.label}: {value!r} is not one of the choices.",
                            f"Use one of {shown}.")]
        return []

    def type_problem(self, value: Any) -> str:
        """'' when ``value`` has this setting's type, else what it is not ("is not a whole number")."""
        if self.kind == "int" and not (_is_number(value) and math.isfinite(value) and float(value).is_integer()):
            return "is not a whole number"
        if self.kind == "float" and not _is_number(value):
            return "is not a number"
        if self.kind == "bool" and not isinstance(value, bool):
            return "is not true or false"
        if self.kind == "str" and not isinstance(value, str):
            return "is not text"
        if self.kind == "int_list" and not (isinstance(value, list) and all(
                _is_number(v) and float(v).is_integer() for v in value)):
            return "is not a list of whole numbers"
        return ""

    def _check_number(self, path: str, value: Any) -> list[Problem]:
        interval = self.interval or Interval()
        if value in interval:
            return []
        integer = self.kind == "int"
        if not math.isfinite(float(value)):
            return [Problem(path, "error", f"{self.label} is {_g(value)}; it must be a finite number"
                            f"{' ' + interval.text() if interval.text() else ''}.",
                            "Use a finite number (NaN and infinity are not allowed).")]
        fixed = interval.nearest(value, self.step, integer)
        fixed = int(fixed) if integer else fixed
        shown = _g(value) if _is_number(value) else repr(value)
        rule = interval.text() or "a finite number"
        return [Problem(path, "error", f"{self.label} is {shown}; it must be {rule}.", f"Set it to {_g(fixed)}.",
                        fixed)]

    def _check_length(self, path: str, value: list[Any]) -> list[Problem]:
        found = []
        if self.min_items and len(value) < self.min_items:
            found.append(Problem(path, "error", f"{self.label}: at least {self.min_items} needed (got {len(value)}).",
                                 "Add one."))
        if self.max_items and len(value) > self.max_items:
            fix_value = list(value[: self.max_items]) if self.kind == "int_list" else None
            found.append(Problem(path, "error", f"{self.label}: at most {self.max_items} allowed (got {len(value)}).",
                                 "Remove some.", fix_value))
        if self.length and len(value) != self.length:
            found.append(Problem(path, "error", f"{self.label} needs exactly {self.length} values (got {len(value)}).",
                                 f"Give {self.length} numbers."))
        return found

    def _check_list(self, path: str, value: list[Any]) -> list[Problem]:
        found = self._check_length(path, value)
        if self.interval is None:
            return found
        for i, item in enumerate(value):
            if item not in self.interval:
                fixed = int(self.interval.nearest(item, integer=True))
                found.append(Problem(f"{path}[{i}]", "error", f"{self.label}: {_g(item)} is not allowed; each value "
                                     f"must be {self.interval.text()}.", f"Use {fixed}.", fixed))
        return found


# ----------------------------------------------------------------------------- declaring a setting
@dataclass(frozen=True)
class _Declared:
    """What :func:`setting` attaches to a pydantic field (read back by :func:`field_table`)."""

    meta: FieldMeta


def setting(
    default: Any = PydanticUndefined,
    *,
    label: str,
    help: str,
    default_factory: Any = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    min_items: int | None = None,
    max_items: int | None = None,
    length: int | None = None,
    step: float | None = None,
    log: bool = False,
    format: str | None = None,
    hidden: bool = False,
    group: str = "",
    search: Search | None = None,
    searchable: bool = True,
    when: tuple[When, ...] = (),
    cli: tuple[str, ...] | None = (),
    empty: str = "none",
) -> Any:
    """A pydantic ``Field`` that carries the setting's metadata: declare a setting once, here.

    ``low``/``high`` bound a number, or each item of a list of numbers; the kind, choices and
    default come from the annotation and the default. Bounds are checked by :func:`check_values`
    (and so by :func:`rmlp.validate`), not by pydantic, so a spec may hold an invalid value while
    a user edits it; :class:`StrictSettings` models refuse one when they are made.
    """
    interval = None if low is None and high is None else Interval(low, high, low_open, high_open)
    meta = FieldMeta(
        pattern="", name="", label=label, help=help, kind="str", interval=interval, min_items=min_items,
        max_items=max_items, length=length, step=step, log=log, format=format, hidden=hidden, group=group,
        search=search,
        searchable=searchable, when=tuple(when), cli=cli, empty=empty,
    )
    schema: dict[str, Any] = interval.to_schema() if interval is not None else {}
    kwargs: dict[str, Any] = {"title": label, "description": help, "json_schema_extra": schema or None}
    if default_factory is not None:
        info = Field(default_factory=default_factory, **kwargs)
    else:
        info = Field(default, **kwargs)
    info.metadata.append(_Declared(meta))
    return info


def reuse(model: type[BaseModel], name: str, **changes: Any) -> Any:
    """The declaration of ``model.name`` again, for a second settings model (``changes``: new default, help...)."""
    info = model.model_fields[name]
    meta = _declared(info)
    default = changes.pop("default", info.default)
    fields = {f: getattr(meta, f) for f in ("label", "help", "step", "log", "format", "hidden", "group", "search",
                                             "searchable", "when", "cli", "min_items", "max_items", "length", "empty")}
    if meta.interval is not None:
        fields.update(low=meta.interval.low, high=meta.interval.high, low_open=meta.interval.low_open,
                      high_open=meta.interval.high_open)
    fields.update(changes)
    return setting(default, **fields)


def _declared(info: Any) -> FieldMeta:
    for item in info.metadata:
        if isinstance(item, _Declared):
            return item.meta
    return FieldMeta(pattern="", name="", label=info.title or "", help=info.description or "", kind="str")


# ----------------------------------------------------------------------------- reading the table
def _kind(annotation: Any) -> tuple[Kind, tuple[Any, ...], bool, type[BaseModel] | None]:
    """(kind, choices, optional, nested model) of a field annotation."""
    optional = False
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        annotation = args[0]
        origin = get_origin(annotation)
    if origin is Literal:
        return "choice", get_args(annotation), optional, None
    if origin is list:
        (inner,) = get_args(annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return "model_list", (), optional, inner
        return "int_list", (), optional, None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", (), optional, annotation
    kinds: dict[Any, Kind] = {bool: "bool", int: "int", float: "float", str: "str"}
    return kinds.get(annotation, "other"), (), optional, None


def _default(info: Any) -> Any:
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value


@cache
def field_table(model: type[BaseModel]) -> dict[str, FieldMeta]:
    """The metadata of every field of ``model`` and of the models nested in it, by pattern."""
    table: dict[str, FieldMeta] = {}

    def walk(cls: type[BaseModel], prefix: str) -> None:
        for name, info in cls.model_fields.items():
            pattern = f"{prefix}.{name}" if prefix else name
            kind, choices, optional, nested = _kind(info.annotation)
            declared = _declared(info)
            table[pattern] = replace(declared, pattern=pattern, name=name, kind=kind, choices=choices,
                                     optional=optional, default=_default(info))
            if nested is not None:
                walk(nested, pattern + "[]" if kind == "model_list" else pattern)

    walk(model, "")
    return table


def check_values(model: type[BaseModel], data: dict[str, Any]) -> list[Problem]:
    """Every value of ``data`` (a dict form of ``model``) against its field's allowed values."""
    found: list[Problem] = []
    for pattern, meta in field_table(model).items():
        for path, value in values_at(data, pattern):
            found += meta.check(path, value)
    return found


def iter_applicable(model: type[BaseModel], data: dict[str, Any]) -> Iterator[FieldMeta]:
    """The settings of ``model`` that have an effect in ``data``."""
    return (m for m in field_table(model).values() if m.applies(data))


# ----------------------------------------------------------------------------- settings models
#: What every settings model shares: no unknown keys, and no NaN or infinity in a number (JSON's
#: ``NaN``/``Infinity`` and YAML's ``.nan``/``.inf`` parse as floats; they are refused with their path).
SETTINGS_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)


class Settings(BaseModel):
    """A model of settings declared with :func:`setting`: no unknown keys, problems on request."""

    model_config = SETTINGS_CONFIG

    @classmethod
    def table(cls) -> dict[str, FieldMeta]:
        return field_table(cls)

    @classmethod
    def meta(cls, name: str) -> FieldMeta:
        return field_table(cls)[name]

    def problems(self) -> list[Problem]:
        """Values outside what their field allows."""
        return check_values(type(self), self.model_dump(mode="json"))


class StrictSettings(Settings):
    """Settings that must all fit to be made at all (a training or search run either works or not)."""

    what: ClassVar[str] = "The settings"

    @model_validator(mode="after")
    def _fits(self) -> StrictSettings:
        found = [p for p in self.problems() if p.severity == "error"]
        if found:
            text = " ".join(f"{p.path}: {p.message} {p.fix}".strip() for p in found)
            raise PydanticCustomError("rmlp_settings", "{text}", {"text": text, "problems": found})
        return self


def label_finder(model: type[BaseModel]) -> Callable[[str], str]:
    """A function giving the label of a field of ``model`` from its path ("" when there is none)."""
    table = field_table(model)

    def label_of(path: str) -> str:
        meta = table.get(pattern_of(path))
        return meta.label if meta is not None else ""

    return label_of


def parse_settings(model: type[Settings], data: dict[str, Any]) -> Any:
    """``model`` made from ``data``; :class:`SettingsError` listing every problem otherwise.

    Unknown keys are reported together with what is wrong with the known ones.
    """
    noun = f"the {model.__name__}"
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, noun, label_finder(model))
    known = {k: v for k, v in data.items() if k in model.model_fields}
    if len(known) < len(data):
        try:
            model.model_validate(known)
        except ValidationError as exc:
            problems += [p for p in problems_from_validation_error(exc, noun, label_finder(model))
                         if p not in problems]
    raise SettingsError(problems, what=getattr(model, "what", "The settings"))
