"""A search space made from the spec's own field paths and metadata, and sampling from it.

A space maps field paths to what a trial may do with them: pin a value, draw from a range, or
choose from a list. Paths are the designer's (``activation``, ``optimizer.learning_rate``,
``final_layers``); block fields use the pattern ``blocks[].width`` (every block) or an index
``blocks[1].width`` (that block only); ``num_blocks`` and ``batch_size`` are the two extra
entries. A field that the space does not name keeps the base spec's value.

Sampling never makes an invalid spec: block decrements are drawn from ``[low, min(high,
largest_decrement(layers, width))]``, a range that depends on the trial's own layers and width,
so every main-path width stays at least 1. Nothing here imports Keras or TensorFlow.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rmlp.spec.fields import FieldMeta, all_fields
from rmlp.spec.problems import Problem, SpecError, errors
from rmlp.spec.model import ModelSpec
from rmlp.design.validate import largest_decrement, validate

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

SPACE_VERSION = 1
#: Entries that are not spec fields.
NUM_BLOCKS = "num_blocks"
BATCH_SIZE = "batch_size"
#: Block fields, in the order a trial samples them (the decrement's range needs layers and width).
BLOCK_FIELDS = ("layers", "width", "bypass", "decrement")
#: Fields the data or the task decide; they can be pinned (that edits the spec) but not searched.
NOT_SEARCHABLE = frozenset({
    "spec_version", "name", "task", "num_outputs", "input_shape", "output_activation", "loss",
    "grayscale_to_rgb", "flatten", "base_model.source", "base_model.name", "base_model.path",
    "base_model.weights", "base_model.input_size", "base_model.cut_layer", "base_model.pooling",
})
SEARCHABLE_KINDS = ("int", "float", "bool", "choice", "int_list")
#: Batch sizes a default space offers.
DEFAULT_BATCH_SIZES = (16, 32, 64, 128)
BATCH_SIZE_BOUNDS = (1, 65536)
#: Default caps of a default space: parameters, and a share of this machine's memory.
DEFAULT_MAX_PARAMS = 5_000_000
DEFAULT_MEMORY_SHARE = 0.5

_BLOCK_PATH = re.compile(r"^blocks\[(\d*)\]\.([a-z_]+)$")


class SpaceError(ValueError):
    """A search space that cannot be used; carries the problems, each with a path and a fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The search space has {len(self.problems)} problem(s):\n{lines}")


class SampleError(ValueError):
    """A trial's values (e.g. a FixedTrial's) gave a spec with errors; carries the problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The sampled spec has errors:\n{lines}")


class ParamSpace(BaseModel):
    """What a trial may do with one path: ``pin`` a value, a ``low``/``high`` range, or ``choices``."""

    model_config = ConfigDict(extra="forbid")

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


class SearchSpace(BaseModel):
    """Entries by field path, plus caps that reject a sample before anything is built."""

    model_config = ConfigDict(extra="forbid")

    version: int = SPACE_VERSION
    params: dict[str, ParamSpace] = Field(default_factory=dict)
    max_params: int | None = Field(None, description="Reject designs with more parameters than this.")
    max_memory_mb: float | None = Field(
        None, description="Reject designs whose estimated training memory (MiB) is above this.")

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
        """Parse a dict; raises :class:`SpaceError` when it does not fit."""
        if not isinstance(data, dict):
            raise SpaceError([Problem("", "error", "A search space must be a JSON object.",
                                      'Write {"params": {"path": {...}}}.')])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            found = []
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"] if p != "params")
                msg = err["msg"].removeprefix("Value error, ")
                found.append(Problem(loc, "error", f"{msg} (got {err.get('input')!r}).",
                                     'Each entry is {"pin": v}, {"low": a, "high": b} or {"choices": [...]}.'))
            raise SpaceError(found) from None

    @classmethod
    def from_json(cls, text: str) -> SearchSpace:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpaceError([Problem("", "error", f"The space file is not valid JSON: {exc}",
                                      "Check the brackets, commas and quotes.")]) from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> SearchSpace:
        path = Path(path)
        if not path.is_file():
            raise SpaceError([Problem("", "error", f"No search space file at {path}.", "Check the path.")])
        return cls.from_json(path.read_text(encoding="utf-8", errors="replace"))

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
        if self.max_params is not None and self.max_params < 1:
            found.append(Problem("max_params", "error", "The parameter cap must be at least 1.",
                                 "Remove it or give a positive number."))
        if self.max_memory_mb is not None and self.max_memory_mb <= 0:
            found.append(Problem("max_memory_mb", "error", "The memory cap must be positive.",
                                 "Remove it or give a positive number of MiB."))
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
def meta_for(path: str) -> FieldMeta | None:
    """Metadata for a space path (block index paths map to their pattern); None for the extras."""
    if path in (NUM_BLOCKS, BATCH_SIZE):
        return None
    m = _BLOCK_PATH.match(path)
    pattern = f"blocks[].{m.group(2)}" if m else path
    return all_fields().get(pattern)


def _kind_of(path: str) -> str:
    if path in (NUM_BLOCKS, BATCH_SIZE):
        return "int"
    meta = meta_for(path)
    return meta.kind if meta else "unknown"


def _bounds(path: str) -> tuple[float | None, float | None, bool, bool]:
    if path == NUM_BLOCKS:
        meta = all_fields()["blocks"]
        return float(meta.min_items or 1), float(meta.max_items or 200), False, False
    if path == BATCH_SIZE:
        return float(BATCH_SIZE_BOUNDS[0]), float(BATCH_SIZE_BOUNDS[1]), False, False
    meta = meta_for(path)
    assert meta is not None
    return meta.min, meta.max, meta.exclusive_min, meta.exclusive_max


def _in_bounds(path: str, value: float) -> bool:
    lo, hi, xlo, xhi = _bounds(path)
    if lo is not None and (value < lo or (xlo and value == lo)):
        return False
    return not (hi is not None and (value > hi or (xhi and value == hi)))


def _bounds_text(path: str) -> str:
    lo, hi, xlo, xhi = _bounds(path)
    parts = []
    if lo is not None:
        parts.append(f"{'>' if xlo else '≥'} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if xhi else '≤'} {hi:g}")
    return " and ".join(parts) or "any number"


def _check_value(path: str, value: Any) -> str:
    """'' when ``value`` fits the field's kind and bounds, else what is wrong."""
    kind = _kind_of(path)
    meta = meta_for(path)
    if value is None:
        return "" if meta is not None and meta.optional else "None is not allowed here"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            return f"{value!r} is not a whole number"
        return "" if _in_bounds(path, value) else f"{value!r} is outside {_bounds_text(path)}"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{value!r} is not a number"
        return "" if _in_bounds(path, value) else f"{value!r} is outside {_bounds_text(path)}"
    if kind == "bool":
        return "" if isinstance(value, bool) else f"{value!r} is not true or false"
    if kind == "choice":
        assert meta is not None
        return "" if value in meta.choices else f"{value!r} is not one of {list(meta.choices)}"
    if kind == "int_list":
        assert meta is not None
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return f"{value!r} is not a list of whole numbers"
        if meta.max_items is not None and len(value) > meta.max_items:
            return f"{value!r} has more than {meta.max_items} values"
        if meta.min_items is not None and len(value) < meta.min_items:
            return f"{value!r} has fewer than {meta.min_items} values"
        if meta.length is not None and len(value) != meta.length:
            return f"{value!r} needs exactly {meta.length} values"
        bad = [v for v in value if (meta.item_min is not None and v < meta.item_min)
               or (meta.item_max is not None and v > meta.item_max)]
        return f"{bad} are outside {meta.item_min}…{meta.item_max}" if bad else ""
    return ""


def _check_entry(path: str, entry: ParamSpace, spec: ModelSpec) -> list[Problem]:
    def bad(msg: str, fix: str) -> list[Problem]:
        return [Problem(path, "error", msg, fix)]

    m = _BLOCK_PATH.match(path)
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
    if path in NOT_SEARCHABLE or _kind_of(path) not in SEARCHABLE_KINDS:
        return bad(f"{path!r} is set by the data or the task; a search can only pin it.",
                   'Use {"pin": value}, or remove the entry.')
    kind = _kind_of(path)
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
def _set_in(data: dict[str, Any], path: str, value: Any) -> None:
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        if node.get(part) is None:
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def apply_pins(spec: ModelSpec, space: SearchSpace) -> ModelSpec:
    """``spec`` with the space's pinned values applied (ranges and choices left as they are)."""
    from rmlp.spec.io import parse_spec

    data = spec.to_dict()
    pins = {p: e.pin for p, e in space.params.items() if e.mode == "pin"}
    if NUM_BLOCKS in pins:
        n = int(pins[NUM_BLOCKS])
        blocks = data["blocks"]
        data["blocks"] = [dict(blocks[min(i, len(blocks) - 1)]) for i in range(n)]
    for path, value in pins.items():
        if path in (NUM_BLOCKS, BATCH_SIZE):
            continue
        m = _BLOCK_PATH.match(path)
        if m:
            idx = [int(m.group(1))] if m.group(1) else range(len(data["blocks"]))
            for i in idx:
                if i < len(data["blocks"]):
                    data["blocks"][i][m.group(2)] = value
        else:
            _set_in(data, path, value)
    for block in data["blocks"]:
        if block["layers"] >= 1 and block["width"] >= 1:
            block["decrement"] = min(block["decrement"], largest_decrement(block["layers"], block["width"]))
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise SpaceError(exc.problems) from None


# ----------------------------------------------------------------------------- the default space
def _widen_range(meta: FieldMeta, hint: dict[str, Any], current: list[float]) -> ParamSpace:
    lo, hi, log = float(hint["low"]), float(hint["high"]), bool(hint.get("log", False))
    for value in current:
        if value is None or (log and value <= 0):
            continue
        lo, hi = min(lo, float(value)), max(hi, float(value))
    return span(lo, hi, log=log)


def _widen_choices(hint: dict[str, Any], current: list[Any]) -> ParamSpace:
    choices = list(hint["choices"])
    for value in current:
        if value not in choices:
            choices.append(value)
    return ParamSpace(choices=choices)


def default_space(spec: ModelSpec, batch_size: int = 32) -> SearchSpace:
    """A sensible space around ``spec`` from the metadata's ``search`` hints.

    Every field with a search hint is searched, its range widened to include the spec's own
    value(s); every other field keeps the spec's value. The number of blocks, the batch size and
    caps (5 M parameters, half this machine's memory) are included.
    """
    from rmlp.design.summary import machine_memory_bytes

    params: dict[str, ParamSpace] = {}
    table = all_fields()
    n = len(spec.blocks)
    hint = table["blocks"].search
    params[NUM_BLOCKS] = span(min(int(hint.get("low", 1)), n), max(int(hint.get("high", 4)), n))
    for name in BLOCK_FIELDS:
        meta = table[f"blocks[].{name}"]
        if not meta.search:
            continue
        current = [getattr(b, name) for b in spec.blocks]
        if "choices" in meta.search:
            params[f"blocks[].{name}"] = _widen_choices(meta.search, current)
        else:
            params[f"blocks[].{name}"] = _widen_range(meta, meta.search, current)
    data = spec.to_dict()
    for pattern, meta in table.items():
        if pattern.startswith("blocks") or not meta.search or pattern in NOT_SEARCHABLE:
            continue
        if pattern.startswith("base_model.") and spec.base_model is None:
            continue
        try:
            current = [_get_in(data, pattern)]
        except (KeyError, TypeError):
            current = []
        if "choices" in meta.search:
            params[pattern] = _widen_choices(meta.search, current)
        else:
            params[pattern] = _widen_range(meta, meta.search, current)
    sizes = sorted({*DEFAULT_BATCH_SIZES, int(batch_size)})
    params[BATCH_SIZE] = ParamSpace(choices=sizes)
    memory = machine_memory_bytes()
    return SearchSpace(params=params, max_params=DEFAULT_MAX_PARAMS,
                       max_memory_mb=round(memory * DEFAULT_MEMORY_SHARE / 2**20) if memory else None)


def _get_in(data: dict[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        node = node[part]
    return node


# ----------------------------------------------------------------------------- sampling
def param_name(path: str, block: int | None = None) -> str:
    """The Optuna parameter name of a path: ``blocks.1.width`` for block fields, else the path."""
    if block is not None:
        m = _BLOCK_PATH.match(path)
        field = m.group(2) if m else path
        return f"blocks.{block}.{field}"
    return path


def _encode(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _draw(trial: BaseTrial, name: str, path: str, entry: ParamSpace) -> Any:
    """One value for ``path`` from ``entry`` through ``trial.suggest_*``."""
    if entry.mode == "pin":
        return entry.pin
    kind = _kind_of(path)
    if entry.mode == "choices":
        choices = list(entry.choices or [])
        if any(isinstance(c, (list, dict)) for c in choices):
            picked = trial.suggest_categorical(name, [_encode(c) for c in choices])
            return json.loads(picked) if isinstance(picked, str) else picked
        return trial.suggest_categorical(name, choices)
    lo, hi = float(entry.low), float(entry.high)  # type: ignore[arg-type]
    if kind == "int":
        step = int(entry.step or 1)
        hi_i = int(lo) + (int(hi) - int(lo)) // step * step
        value = trial.suggest_int(name, int(lo), hi_i, step=step, log=entry.log)
        return int(min(max(value, int(lo)), hi_i))
    value = trial.suggest_float(name, lo, hi, step=entry.step, log=entry.log)
    return float(min(max(value, lo), hi))


def _draw_decrement(trial: BaseTrial, name: str, entry: ParamSpace | None, base: int, layers: int,
                    width: int) -> int:
    """A decrement within [low, min(high, largest)]: every main-path width stays >= 1.

    A one-layer block has no second layer to shrink to, so its decrement is 0 and not sampled.
    """
    if layers <= 1:
        return 0
    largest = largest_decrement(layers, width)
    if entry is None:
        return min(base, largest)
    if entry.mode == "pin":
        return min(int(entry.pin), largest)
    if entry.mode == "choices":
        allowed = sorted({min(int(c), largest) for c in entry.choices or [0]})
        if len(allowed) == 1:
            return allowed[0]
        return min(int(trial.suggest_categorical(name, [int(c) for c in entry.choices or []])), largest)
    step = int(entry.step or 1)
    lo = min(int(entry.low), largest)  # type: ignore[arg-type]
    hi = min(int(entry.high), largest)  # type: ignore[arg-type]
    hi = lo + (hi - lo) // step * step
    if hi <= lo:
        return lo
    value = trial.suggest_int(name, lo, hi, step=step)
    return int(min(max(value, lo), hi))


#: Fields sampled before the others, because whether some others matter depends on them.
_FIRST = ("final_layers", "final_regularizer", "bypass_regularizer")
#: Fields that have no effect in some designs; a trial samples them only when they do.
_RELEVANT_IF: dict[str, Callable[[dict[str, Any]], bool]] = {
    "bypass_dropout": lambda d: d["bypass_regularizer"] == "dropout",
    "final_regularizer": lambda d: bool(d["final_layers"]),
    "final_dropout": lambda d: d["final_regularizer"] == "dropout" and bool(d["final_layers"]),
}


def sample_spec(trial: BaseTrial, base_spec: ModelSpec, space: SearchSpace,
                batch_size: int = 32) -> tuple[ModelSpec, int]:
    """A spec and batch size for one trial, drawn with ``trial.suggest_*`` (any Optuna trial).

    Parameters are named by path (``optimizer.learning_rate``, ``blocks.1.width``); only blocks
    that exist in this trial are sampled, and each block's decrement is drawn from a range that
    keeps every width >= 1. Raises :class:`SampleError` only when fixed values (a FixedTrial or an
    enqueued trial) make an invalid spec.
    """
    from rmlp.spec.io import parse_spec

    data = base_spec.to_dict()
    paths = sorted((p for p in space.params if p not in (NUM_BLOCKS, BATCH_SIZE) and not p.startswith("blocks[")),
                   key=lambda p: _FIRST.index(p) if p in _FIRST else len(_FIRST))
    for path in paths:
        if path in _RELEVANT_IF and not _RELEVANT_IF[path](data):
            continue  # e.g. a dropout rate when the regulariser is batch normalisation: keep the spec's
        _set_in(data, path, _draw(trial, param_name(path), path, space.params[path]))
    base_blocks = data["blocks"]
    entry = space.params.get(NUM_BLOCKS)
    n = len(base_blocks) if entry is None else int(_draw(trial, NUM_BLOCKS, NUM_BLOCKS, entry))
    blocks = []
    for i in range(n):
        block = dict(base_blocks[min(i, len(base_blocks) - 1)])
        for field in BLOCK_FIELDS[:-1]:
            found = space.block_entry(i, field)
            if found is not None:
                block[field] = _draw(trial, param_name(f"blocks[].{field}", i), f"blocks[].{field}", found)
        block["decrement"] = _draw_decrement(trial, param_name("blocks[].decrement", i),
                                             space.block_entry(i, "decrement"), int(block["decrement"]),
                                             int(block["layers"]), int(block["width"]))
        blocks.append(block)
    data["blocks"] = blocks
    entry = space.params.get(BATCH_SIZE)
    size = int(batch_size if entry is None else _draw(trial, BATCH_SIZE, BATCH_SIZE, entry))
    try:
        spec = parse_spec(data)
    except SpecError as exc:
        raise SampleError(exc.problems) from None
    problems = errors(validate(spec))
    if problems:
        raise SampleError(problems)
    return spec, size


def _fits(entry: ParamSpace, value: Any) -> bool:
    if entry.mode == "choices":
        return value in (entry.choices or [])
    if entry.mode == "range" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(entry.low) <= value <= float(entry.high)  # type: ignore[arg-type]
    return False


def spec_params(space: SearchSpace, spec: ModelSpec, batch_size: int = 32) -> dict[str, Any]:
    """The trial parameters that reproduce ``spec`` (values outside the space are left out).

    Enqueued as a study's first trial, the search starts by measuring the design it was given.
    """
    out: dict[str, Any] = {}
    data = spec.to_dict()
    for path, entry in space.params.items():
        if entry.mode == "pin":
            continue
        if path == NUM_BLOCKS:
            values = {NUM_BLOCKS: len(spec.blocks)}
        elif path == BATCH_SIZE:
            values = {BATCH_SIZE: batch_size}
        elif path.startswith("blocks["):
            name = path.split(".")[-1]
            values = {param_name(path, i): data["blocks"][i][name] for i in range(len(spec.blocks))
                      if space.block_entry(i, name) is entry}
        else:
            values = {param_name(path): _get_in(data, path)}
        for name, value in values.items():
            if _fits(entry, value):
                out[name] = _encode(value) if entry.mode == "choices" and any(
                    isinstance(c, (list, dict)) for c in entry.choices or []) else value
    return out


def grid_values(space: SearchSpace, spec: ModelSpec, max_points: int = 10_000) -> dict[str, list[Any]]:
    """The grid of a small space for Optuna's GridSampler (choices and stepped ranges only).

    Block parameters appear for every block a trial can have; decrements are clipped per trial.
    Raises :class:`SpaceError` for a continuous range or a grid of more than ``max_points``.
    """
    grid: dict[str, list[Any]] = {}
    blocks = space.max_blocks(spec)
    for path, entry in space.params.items():
        if entry.mode == "pin":
            continue
        names = ([param_name(path, i) for i in range(blocks)
                  if space.block_entry(i, path.split(".")[-1]) is entry]
                 if path.startswith("blocks[") else [param_name(path)])
        if entry.mode == "choices":
            values = [_encode(c) for c in entry.choices or []] if any(
                isinstance(c, (list, dict)) for c in entry.choices or []) else list(entry.choices or [])
        else:
            kind = _kind_of(path)
            if kind == "float" and entry.step is None:
                raise SpaceError([Problem(path, "error", "A grid search needs a step for a float range.",
                                          'Add "step", or use "choices".')])
            step = float(entry.step or 1)
            count = int(math.floor((float(entry.high) - float(entry.low)) / step + 1e-9)) + 1  # type: ignore[arg-type]
            values = [float(entry.low) + k * step for k in range(count)]  # type: ignore[arg-type]
            if kind == "int":
                values = [int(round(v)) for v in values]
        for name in names:
            grid[name] = values
    size = math.prod(len(v) for v in grid.values()) if grid else 1
    if size > max_points:
        raise SpaceError([Problem("", "error", f"The grid has {size:,} points, more than {max_points:,}.",
                                  "Pin more fields, use fewer choices, or use the TPE sampler.")])
    return grid
