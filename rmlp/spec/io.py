"""Reading and writing settings documents (JSON or YAML), with problems instead of tracebacks.

Generic over the settings models (the model spec, a search space, a training config): each one's
``load``/``save`` goes through these, so a bad file gets the same plain words everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rmlp.spec.problems import Problem, ProblemsError, problems_from_validation_error

M = TypeVar("M", bound=BaseModel)

__all__ = ["YAML_SUFFIXES", "dump_document", "load_document", "parse_document", "parse_model", "read_document"]

YAML_SUFFIXES = (".yaml", ".yml")


def parse_document(text: str, suffix: str = ".json", error: type[ProblemsError] = ProblemsError) -> Any:
    """The data of a JSON (or, for .yaml/.yml, YAML) text; ``error`` with a problem when it does not parse."""
    try:
        if suffix.lower() in YAML_SUFFIXES:
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a user mistake
        kind = suffix.lstrip(".").upper() or "JSON"
        raise error([Problem("", "error", f"The file is not valid {kind}: {exc}",
                             "Check the brackets, commas and quotes.")]) from None


def read_document(path: str | Path, error: type[ProblemsError] = ProblemsError, what: str = "file") -> Any:
    """The data in a JSON or YAML file; ``error`` with a clear message for a missing or bad file."""
    path = Path(path)
    if path.is_dir():
        raise error([Problem("", "error", f"{path} is a folder, not a {what}.", "Give a file (.json or .yaml).")])
    if not path.is_file():
        raise error([Problem("", "error", f"No {what} at {path}.", "Check the path.")])
    return parse_document(path.read_text(encoding="utf-8", errors="replace"), path.suffix, error)


def parse_model(cls: type[M], data: Any, error: type[ProblemsError] = ProblemsError, noun: str = "") -> M:
    """``cls`` from parsed data; ``error`` listing what does not fit, each with its field path."""
    if isinstance(data, cls):
        return data
    noun = noun or f"the {cls.__name__}"
    if not isinstance(data, dict):
        raise error([Problem("", "error", f"{noun[0].upper()}{noun[1:]} must be a JSON object.",
                             "Wrap the fields in { }.")])
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise error(problems_from_validation_error(exc, noun)) from None


def load_document(cls: type[M], path: str | Path, error: type[ProblemsError] = ProblemsError,
                  what: str = "file") -> M:
    """``cls`` read from a JSON or YAML file."""
    return parse_model(cls, read_document(path, error, what), error)


def dump_document(data: Any, path: str | Path) -> Path:
    """Write ``data`` as JSON, or as YAML when the name ends in .yaml/.yml."""
    path = Path(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        import yaml

        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
