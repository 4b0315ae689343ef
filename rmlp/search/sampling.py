"""Sampling a search space: one Optuna trial's values turned into a valid spec, and back.

Sampling never makes an invalid spec: block decrements are drawn from ``[low, min(high,
largest_decrement(layers, width))]``, a range that depends on the trial's own layers and width, so
every main-path width stays at least 1; a field that has no effect in a design (a dropout rate
with batch normalisation, say: its ``when``) is not sampled. Nothing here imports Keras.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from rmlp.design.summary import DEFAULT_BATCH_SIZE
from rmlp.design.validate import largest_decrement, validate
from rmlp.search.space import (
    BATCH_SIZE,
    BLOCK_FIELDS,
    BLOCK_PATH,
    NUM_BLOCKS,
    ParamSpace,
    SampleError,
    SearchSpace,
    SpaceError,
    meta_for,
)
from rmlp.spec.model import ModelSpec, parse_spec
from rmlp.spec.paths import get_in, set_in
from rmlp.spec.problems import Problem, SpecError, errors

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

def param_name(path: str, block: int | None = None) -> str:
    """The Optuna parameter name of a path: ``blocks.1.width`` for block fields, else the path."""
    if block is not None:
        m = BLOCK_PATH.match(path)
        field = m.group(2) if m else path
        return f"blocks.{block}.{field}"
    return path


def _encode(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _draw(trial: BaseTrial, name: str, path: str, entry: ParamSpace) -> Any:
    """One value for ``path`` from ``entry`` through ``trial.suggest_*``."""
    if entry.mode == "pin":
        return entry.pin
    meta = meta_for(path)
    kind = meta.kind if meta is not None else "float"
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
    drawn = trial.suggest_float(name, lo, hi, step=entry.step, log=entry.log)
    return float(min(max(drawn, lo), hi))


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


def _sampling_order(paths: list[str]) -> list[str]:
    """Paths ordered so that a field comes after the fields its relevance depends on (``when``)."""

    def depth(path: str, seen: tuple[str, ...] = ()) -> int:
        meta = meta_for(path)
        if meta is None or path in seen:
            return 0
        return max((1 + depth(c.path, (*seen, path)) for c in meta.when), default=0)

    return sorted(paths, key=depth)


def sample_spec(trial: BaseTrial, base_spec: ModelSpec, space: SearchSpace,
                batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[ModelSpec, int]:
    """A spec and batch size for one trial, drawn with ``trial.suggest_*`` (any Optuna trial).

    Parameters are named by path (``optimizer.learning_rate``, ``blocks.1.width``); only blocks
    that exist in this trial are sampled, and each block's decrement is drawn from a range that
    keeps every width >= 1. Raises :class:`SampleError` only when fixed values (a FixedTrial or an
    enqueued trial) make an invalid spec.
    """
    data = base_spec.to_dict()
    paths = _sampling_order([p for p in space.params if p not in (NUM_BLOCKS, BATCH_SIZE)
                             and not p.startswith("blocks[")])
    for path in paths:
        meta = meta_for(path)
        if meta is not None and not meta.applies(data):
            continue  # e.g. a dropout rate when the regulariser is batch normalisation: keep the spec's
        set_in(data, path, _draw(trial, param_name(path), path, space.params[path]))
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


def spec_params(space: SearchSpace, spec: ModelSpec, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, Any]:
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
            values = {param_name(path): get_in(data, path)}
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
            meta = meta_for(path)
            kind = meta.kind if meta is not None else "float"
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
