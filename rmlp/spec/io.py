"""Reading and writing specs (JSON or YAML) with problems instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rmlp.spec.problems import Problem, SpecError
from rmlp.spec.model import ModelSpec


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def problems_from_validation_error(exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into problems with field paths and plain words."""
    found = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-after",))
        path = _loc_to_path(loc)
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            msg, fix = f"'{path}' is not a field of the model spec.", "Remove it or check its spelling."
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            msg, fix = f"{err['input']!r} is not allowed here.", f"Use one of {expected}."
        elif kind == "missing":
            msg, fix = "This field is required.", "Add it."
        else:
            msg, fix = f"{err['msg']} (got {err.get('input')!r}).", "Give a value of the right type."
        found.append(Problem(path, "error", msg, fix))
    return found


def parse_spec(data: Any) -> ModelSpec:
    """A spec from a dict; raises SpecError (a ValueError) listing what does not fit."""
    if isinstance(data, ModelSpec):
        return data
    if not isinstance(data, dict):
        raise SpecError([Problem("", "error", "A model spec must be a JSON object.", "Wrap the fields in { }.")])
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(problems_from_validation_error(exc)) from None


def load_spec_text(text: str, suffix: str = ".json") -> ModelSpec:
    """Parse spec text (JSON, or YAML for .yaml/.yml)."""
    try:
        if suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a user mistake
        raise SpecError([Problem("", "error", f"The file is not valid {suffix.lstrip('.').upper()}: {exc}",
                                 "Check the brackets, commas and quotes.")]) from None
    return parse_spec(data)


def load_spec(path: str | Path) -> ModelSpec:
    """Read a spec file; raises SpecError with a clear message for a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError([Problem("", "error", f"No spec file at {path}.", "Check the path.")])
    return load_spec_text(path.read_text(encoding="utf-8", errors="replace"), path.suffix)


def save_spec(spec: ModelSpec, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False), encoding="utf-8")
    else:
        path.write_text(spec.to_json() + "\n", encoding="utf-8")
    return path
