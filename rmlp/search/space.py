"""A search space made from the spec's own field paths and metadata: entries, checks, pins, defaults.

A space maps field paths to what a trial may do with them: pin a value, draw from a range, or
choose from a list. Paths are the designer's (``activation``, ``optimizer.learning_rate``,
``final_layers``); block fields use the pattern ``blocks[].width`` (every block) or an index
``blocks[1].width`` (that block only); ``num_blocks`` and ``batch_size`` are the two extra
entries. A field that the space does not name keeps the base spec's value.

Each entry is checked with its field's own declaration (:class:`~rmlp.spec.fields.FieldMeta`):
kind, bounds, and whether a search may vary it at all; :mod:`rmlp.search.sampling` draws trials
from a space. Nothing here imports Keras or TensorFlow.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from rmlp.design.memory import memory_limit_bytes
from rmlp.design.sizing import WIDE_FROM_ROWS
from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.design.validate import largest_decrement, validate
from rmlp.runs.config import TrainConfig
from rmlp.spec.edit import field_meta, spec_fields
from rmlp.spec.fields import SETTINGS_CONFIG, FieldMeta, Interval, Settings, setting
from rmlp.spec.io import parse_document, parse_model, read_document, refuse_unknown_version
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.paths import get_in, set_in
from rmlp.spec.problems import Problem, ProblemsError, SpecError, errors, shown

SPACE_VERSION = 1
#: Entries that are not spec fields.
NUM_BLOCKS = "num_blocks"
BATCH_SIZE = "batch_size"
#: Block fields, in the order a trial samples them (the decrement's range needs layers and width).
BLOCK_FIELDS = ("layers", "width", "bypass", "decrement")
#: The kinds of value a search can vary (others, such as nested models, can only be pinned).
SEARCHABLE_KINDS = ("int", "float", "bool", "choice", "int_list")
#: Default caps of a default space: parameters, and a share of this machine's memory.
DEFAULT_MAX_PARAMS = 5_000_000
DEFAULT_MEMORY_SHARE = 0.5

BLOCK_PATH = re.compile(r"^blocks\[(\d*)\]\.([a-z_]+)$")


class SpaceError(ProblemsError):
    """A search space that cannot be used; carries the problems, each with a path and a fix."""

    what = "The search space"


class SampleError(ProblemsError):
    """A trial's values (e.g. a FixedTrial's) gave a spec with errors; carries the problems."""

    what = "The sampled spec"


def is_searchable(meta: FieldMeta) -> bool:
    """Whether a search may vary this field (the data or the task decide the others)."""
    return meta.searchable and meta.kind in SEARCHABLE_KINDS


_ENTRY_FORMS = 'Each entry is {"pin": v}, {"low": a, "high": b} or {"choices": [...]}.'


class ParamSpace(BaseModel):
    """What a trial may do with one path: ``pin`` a value, a ``low``/``high`` range, or ``choices``."""

    model_config = SETTINGS_CONFIG

    pin: Any = Field(None, description="The value every trial uses.")
    low: float | None = Field(None, description="Smallest value of a range.")
    high: float | None = Field(None, description="Largest value of a range.")
    log: bool = Field(False, description="Draw the range on a log scale.")
    step: float | None = Field(None, description="Step of a range (integers: 1 unless given).")
    choices: list[Any] | None = Field(None, description="Values to choose from.")

    @model_validator(mode="after")
    def _one_mode(self) -> ParamSpace:
        modes = [m for m, on in (("pin", "pin" in self.model_fields_set),
                                 ("range", self.low is not None or self.high is not None),
                                 ("choices", self.choices is not None)) if on]
        if len(modes) != 1:
            raise ValueError("give exactly one of: pin, low+high, choices")
        if modes == ["range"] and (self.low is None or self.high is None):
            raise ValueError("a range needs both low and high")
        return self

    @property
    def mode(self) -> str:
        """"pin", "range" or "choices"."""
        if self.choices is not None:
            return "choices"
        if self.low is not None:
            return "range"
        return "pin"

    def to_json_dict(self) -> dict[str, Any]:
        """The entry as written in a space file (only what is set)."""
        if self.mode == "pin":
            return {"pin": self.pin}
        if self.mode == "choices":
            return {"choices": list(self.choices or [])}
        out: dict[str, Any] = {"low": _plain_number(self.low), "high": _plain_number(self.high)}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = _plain_number(self.step)
        return out


def _entry_problem(path: str, entry: Any, exc: ValidationError) -> Problem:
    """The first thing wrong with a space entry, in words (a NaN or infinite bound named by its key)."""
    first = exc.errors()[0]
    if first["type"] == "finite_number":
        key = ".".join(str(part) for part in first["loc"])
        return Problem(path, "error", f"{key} is {shown(first['input'])}, not a finite number (NaN and infinity "
                       "are not allowed).", "Use a finite number.")
    msg = first["msg"].removeprefix("Value error, ")
    return Problem(path, "error", f"{msg} (got {shown(entry)}).", _ENTRY_FORMS)


def _plain_number(x: float | None) -> float | int | None:
    if x is None:
        return None
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def pin(value: Any) -> ParamSpace:
    """An entry that pins ``value``."""
    return ParamSpace(pin=value)


def span(low: float, high: float, log: bool = False, step: float | None = None) -> ParamSpace:
    """An entry drawing from ``[low, high]``."""
    return ParamSpace(low=low, high=high, log=log, step=step)


def choose(*values: Any) -> ParamSpace:
    """An entry choosing one of ``values``."""
    return ParamSpace(choices=list(values))


class SearchSpace(Settings):
    """Entries by field path, plus caps that reject a sample before anything is built."""

    version: int = SPACE_VERSION
    params: dict[str, ParamSpace] = Field(default_factory=dict)
    max_params: int | None = setting(
        None, label="Parameter cap", help="Designs with more parameters are rejected before anything is built "
        "(empty: no cap).", low=1, step=100_000,
    )
    max_memory_mb: float | None = setting(
        None, label="Training memory cap (MiB)", help="Designs whose estimated peak training memory is above "
        "this are rejected before they are built (empty: no cap).", low=0.0, low_open=True,
    )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version,
                               "params": {k: v.to_json_dict() for k, v in self.params.items()}}
        if self.max_params is not None:
            out["max_params"] = self.max_params
        if self.max_memory_mb is not None:
            out["max_memory_mb"] = self.max_memory_mb
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> SearchSpace:
        """Parse a dict; raises :class:`SpaceError` when it does not fit (entries named by their path)."""
        refuse_unknown_version(data, "version", SPACE_VERSION, SpaceError, "the search space")
        if isinstance(data, dict) and isinstance(data.get("params"), dict):
            found = []
            for path, entry in data["params"].items():
                try:
                    ParamSpace.model_validate(entry)
                except ValidationError as exc:
                    found.append(_entry_problem(path, entry, exc))
            if found:
                raise SpaceError(found)
        return parse_model(cls, data, SpaceError, "the search space")

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        return cls.from_dict(parse_document(text, ".json", SpaceError))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> SearchSpace:
        return cls.from_dict(read_document(path, SpaceError, "search space file"))

    # ------------------------------------------------------------------ lookup
    def block_entry(self, index: int, name: str) -> ParamSpace | None:
        """The entry for field ``name`` of block ``index``: ``blocks[i].name``, else ``blocks[].name``."""
        return self.params.get(f"blocks[{index}].{name}") or self.params.get(f"blocks[].{name}")

    def max_blocks(self, spec: ModelSpec) -> int:
        """The most blocks a trial can have."""
        entry = self.params.get(NUM_BLOCKS)
        if entry is None:
            return len(spec.blocks)
        if entry.mode == "pin":
            return int(entry.pin)
        if entry.mode == "choices":
            return int(max(entry.choices or [1]))
        return int(entry.high or 1)

    def searched(self) -> list[str]:
        """Paths that vary between trials (not pinned)."""
        return [p for p, e in self.params.items() if e.mode != "pin"]

    # ------------------------------------------------------------------ checks
    def check(self, spec: ModelSpec) -> list[Problem]:
        """Problems of this space against ``spec``: unknown paths, wrong kinds, values out of bounds."""
        found: list[Problem] = []
        for path, entry in self.params.items():
            found += _check_entry(path, entry, spec)
        found += self.problems()
        if not found:
            pinned = apply_pins(spec, self)
            for p in errors(validate(pinned)):
                found.append(Problem(p.path, "error", f"With the pinned values: {p.message}", p.fix))
        return found

    def require_valid(self, spec: ModelSpec) -> None:
        """Raise :class:`SpaceError` when :meth:`check` finds problems."""
        problems = self.check(spec)
        if problems:
            raise SpaceError(problems)


# ----------------------------------------------------------------------------- checking entries
#: The entry for the number of blocks, declared like a field (bounds and hint from the spec's ``blocks``).
_BLOCKS = field_meta("blocks")
NUM_BLOCKS_META = FieldMeta(
    pattern=NUM_BLOCKS, name=NUM_BLOCKS, label="Number of blocks",
    help="How many residual blocks a design has; block parameters are sampled only for blocks that exist.",
    kind="int", default=1, interval=Interval(_BLOCKS.min_items, _BLOCKS.max_items), step=1, search=_BLOCKS.search,
)


def meta_for(path: str) -> FieldMeta | None:
    """Metadata of a space path: a spec field (block index paths map to their pattern), or an extra."""
    if path == NUM_BLOCKS:
        return NUM_BLOCKS_META
    if path == BATCH_SIZE:
        return replace(TrainConfig.meta(BATCH_SIZE), pattern=BATCH_SIZE)
    m = BLOCK_PATH.match(path)
    return spec_fields().get(f"blocks[].{m.group(2)}" if m else path)


def _check_value(path: str, value: Any) -> str:
    """'' when ``value`` fits the field's kind and bounds, else what is wrong (the field's own words)."""
    meta = meta_for(path)
    if meta is None:
        return ""
    if value is None:
        return "" if meta.optional else "None is not allowed here"
    problems = meta.check(path, value)
    return problems[0].message.rstrip(".") if problems else ""


def _check_entry(path: str, entry: ParamSpace, spec: ModelSpec) -> list[Problem]:
    def bad(msg: str, fix: str) -> list[Problem]:
        return [Problem(path, "error", msg, fix)]

    m = BLOCK_PATH.match(path)
    meta = meta_for(path)
    if path not in (NUM_BLOCKS, BATCH_SIZE):
        if m and m.group(2) not in BLOCK_FIELDS:
            return bad(f"Blocks have no field {m.group(2)!r}.", f"Use one of {list(BLOCK_FIELDS)}.")
        if meta is None or (m is None and path.startswith("blocks")) or path in ("blocks", "base_model", "optimizer"):
            return bad(f"{path!r} is not a field of the model spec that a search can set.",
                       "Use a field path such as 'activation', 'optimizer.learning_rate', 'blocks[].width', "
                       "or the entries 'num_blocks' and 'batch_size'.")
        if path.startswith("base_model.") and spec.base_model is None:
            return bad("The spec has no base model, so its fields cannot be searched.",
                       "Remove this entry, or add a base model to the spec.")
    if entry.mode == "pin":
        if path == "spec_version":
            return bad("The spec version cannot be set by a search.", "Remove this entry.")
        problem = _check_value(path, entry.pin)
        return bad(f"Pinned value: {problem}.", "Give a value that fits the field.") if problem else []
    if meta is not None and not is_searchable(meta):
        return bad(f"{path!r} is set by the data or the task; a search can only pin it.",
                   'Use {"pin": value}, or remove the entry.')
    kind = meta.kind if meta is not None else "unknown"
    if entry.mode == "choices":
        if not entry.choices:
            return bad("The list of choices is empty.", "Give at least one value.")
        found = []
        for value in entry.choices:
            problem = _check_value(path, value)
            if problem:
                found += bad(f"Choice {problem}.", "Give values that fit the field.")
        return found
    # a range
    if kind not in ("int", "float"):
        return bad(f"A range needs a numeric field; {path!r} is a {kind}.", 'Use {"choices": [...]} instead.')
    lo, hi = float(entry.low), float(entry.high)  # type: ignore[arg-type]
    found = []
    for name, value in (("low", lo), ("high", hi)):
        problem = _check_value(path, int(value) if kind == "int" and value.is_integer() else value)
        if problem:
            found += bad(f"Range {name}: {problem}.", "Keep the range inside the field's bounds.")
    if found:
        return found
    if lo > hi:
        return bad(f"The range is empty: low {lo:g} is above high {hi:g}.", "Swap them.")
    if entry.log and lo <= 0:
        return bad("A log-scale range must start above 0.", "Raise low, or drop log.")
    if entry.step is not None:
        if entry.step <= 0:
            return bad("The step must be positive.", "Give a positive step.")
        if entry.log:
            return bad("A range cannot have both log scale and a step.", "Drop one of them.")
        if kind == "int" and not float(entry.step).is_integer():
            return bad("An integer range needs a whole-number step.", "Use a whole number.")
    return []


# ----------------------------------------------------------------------------- applying to specs
def apply_pins(spec: ModelSpec, space: SearchSpace) -> ModelSpec:
    """``spec`` with the space's pinned values applied (ranges and choices left as they are)."""
    data = spec.to_dict()
    pins = {p: e.pin for p, e in space.params.items() if e.mode == "pin"}
    if NUM_BLOCKS in pins:
        n = int(pins[NUM_BLOCKS])
        blocks = data["blocks"]
        data["blocks"] = [dict(blocks[min(i, len(blocks) - 1)]) for i in range(n)]
    for path, value in pins.items():
        if path in (NUM_BLOCKS, BATCH_SIZE):
            continue
        m = BLOCK_PATH.match(path)
        if m:
            idx = [int(m.group(1))] if m.group(1) else range(len(data["blocks"]))
            for i in idx:
                if i < len(data["blocks"]):
                    data["blocks"][i][m.group(2)] = value
        else:
            set_in(data, path, value)
    for block in data["blocks"]:
        if block["layers"] >= 1 and block["width"] >= 1:
            block["decrement"] = min(block["decrement"], largest_decrement(block["layers"], block["width"]))
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise SpaceError(exc.problems) from None


# ----------------------------------------------------------------------------- the default space
def _include(entry: ParamSpace, current: list[Any]) -> ParamSpace:
    """``entry`` widened to hold the values the spec has now."""
    if entry.choices is not None:
        choices = list(entry.choices)
        choices += [v for i, v in enumerate(current) if v not in choices and v not in current[:i]]
        return ParamSpace(choices=choices)
    lo, hi = float(entry.low if entry.low is not None else 0), float(entry.high if entry.high is not None else 0)
    for value in current:
        if isinstance(value, (int, float)) and not (entry.log and value <= 0):
            lo, hi = min(lo, float(value)), max(hi, float(value))
    return span(lo, hi, log=entry.log)


def _around(meta: FieldMeta, current: list[Any]) -> ParamSpace:
    """The field's default search entry, widened to include the values the spec has now."""
    hint = meta.search
    assert hint is not None
    if hint.choices is not None:
        choices = [list(c) if isinstance(c, tuple) else c for c in hint.choices]
        choices += [v for i, v in enumerate(current) if v not in choices and v not in current[:i]]
        return ParamSpace(choices=choices)
    lo, hi = float(hint.low or 0), float(hint.high or 0)
    for value in current:
        if value is None or (hint.log and value <= 0):
            continue
        lo, hi = min(lo, float(value)), max(hi, float(value))
    return span(lo, hi, log=hint.log)


def default_entries(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE) -> list[tuple[FieldMeta, list[Any]]]:
    """The fields a default space searches (those with a search hint), each with the spec's current value(s)."""
    data = spec.to_dict()
    found: list[tuple[FieldMeta, list[Any]]] = [(NUM_BLOCKS_META, [len(spec.blocks)])]
    for name in BLOCK_FIELDS:
        meta = spec_fields()[f"blocks[].{name}"]
        found.append((meta, [getattr(b, name) for b in spec.blocks]))
    for pattern, meta in spec_fields().items():
        if pattern.startswith("blocks") or (pattern.startswith("base_model.") and spec.base_model is None):
            continue
        try:
            found.append((meta, [get_in(data, pattern)]))
        except (KeyError, IndexError, TypeError):
            continue
    found.append((meta_for(BATCH_SIZE), [int(batch_size)]))  # type: ignore[arg-type]
    return [(m, current) for m, current in found if m.search is not None and is_searchable(m)]


def small_table_ranges(rows: int, batch_size: int) -> dict[str, ParamSpace]:
    """Narrower ranges for a table of ``rows`` training rows, around the design sized to it.

    Below :data:`~rmlp.design.sizing.WIDE_FROM_ROWS` rows the published recipes find one to three
    blocks a few dozen to a few hundred units wide enough; deeper and wider designs mostly add
    trials that over-fit. The batch size stays within a factor of two of the sized one.
    """
    if rows >= WIDE_FROM_ROWS:
        return {}
    batches = sorted({max(8, batch_size // 2), batch_size, batch_size * 2})
    return {
        NUM_BLOCKS: span(1, 3),
        "blocks[].layers": span(1, 4),
        "blocks[].width": span(32, 256, log=True),
        "blocks[].decrement": span(0, 32),
        "blocks[].bypass": ParamSpace(choices=[[], [16], [32]]),
        "inter_block_layers": ParamSpace(choices=[[]]),
        "final_layers": ParamSpace(choices=[[], [32], [64]]),
        BATCH_SIZE: ParamSpace(choices=batches),
    }


def default_space(spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE, rows: int | None = None) -> SearchSpace:
    """A sensible space around ``spec`` from the fields' ``search`` hints.

    Every field with a search hint is searched, its range widened to include the spec's own
    value(s); every other field keeps the spec's value. The number of blocks, the batch size and
    caps (5 M parameters, half the memory this process may use) are included. With ``rows`` (training rows)
    a small table gets the narrower ranges of :func:`small_table_ranges`, still widened to include
    the spec's own values.
    """
    entries = default_entries(spec, batch_size)
    narrow = small_table_ranges(rows, batch_size) if rows is not None else {}
    params = {meta.pattern: _include(narrow[meta.pattern], current) if meta.pattern in narrow
              else _around(meta, current) for meta, current in entries}
    memory = memory_limit_bytes()
    return SearchSpace(params=params, max_params=DEFAULT_MAX_PARAMS,
                       max_memory_mb=round(memory * DEFAULT_MEMORY_SHARE / 2**20) if memory else None)


