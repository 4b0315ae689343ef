"""Reading and writing settings documents (JSON or YAML), with problems instead of tracebacks.

Generic over the settings models (the model spec, a search space, a training config): each one's
``load``/``save`` goes through these, so a bad file gets the same plain words everywhere.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from rmlp.spec.fields import label_finder
from rmlp.spec.problems import Problem, ProblemsError, problems_from_validation_error
from rmlp.spec.units import human_bytes

M = TypeVar("M", bound=BaseModel)

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_DOCUMENT_BYTES", "MAX_VALUES", "YAML_SUFFIXES", "BoundedYamlLoader",
           "decode_document", "dump_document", "load_document", "parse_document", "parse_model", "read_document",
           "refuse_unknown_version"]

YAML_SUFFIXES = (".yaml", ".yml")
#: Bounds on a settings document, checked before it is expanded or validated: a spec or a search
#: space is a few kilobytes, a few hundred values, a few levels deep.
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_VALUES = 100_000
MAX_DEPTH = 64
MAX_ALIASES = 1000
#: Byte-order marks, longest first (a UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class _Refused(Exception):
    """A document refused before it is expanded; carries the problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _too_big(message: str, fix: str = "A settings file holds a few hundred values; check that this is the "
             "right file.") -> _Refused:
    return _Refused(Problem("", "error", message, fix))


class BoundedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that counts what aliases expand to, and nesting, before anything is built.

    An alias (``*a``) repeats a whole anchored value; a few lines of them ("billion laughs") expand
    to billions of values. Each composed node records how many values it stands for, so the total
    is known while composing, and the load stops at :data:`MAX_VALUES`, :data:`MAX_ALIASES` or
    :data:`MAX_DEPTH`.
    """

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._values = 0
        self._aliases = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            anchor = self.peek_event().anchor
            node = super().compose_node(parent, index)
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _too_big(f"The YAML file uses more than {MAX_ALIASES:,} aliases (*name); at most "
                               f"{MAX_ALIASES:,} are allowed.", "Write the values out, or use fewer aliases.")
            size = self._sizes.get(id(node))
            if size is None:
                raise _too_big(f"The YAML alias *{str(anchor)[:40]} refers to a value that contains it, so it "
                               "never ends.", "Remove the alias, or point it at a finished value.")
            self._count(size)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _too_big(f"The YAML file nests lists or mappings more than {MAX_DEPTH} levels deep.",
                           "A settings file nests a few levels; check that this is the right file.")
        start = self._values
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1)
        self._sizes[id(node)] = self._values - start
        return node

    def _count(self, n: int) -> None:
        self._values += n
        if self._values > MAX_VALUES:
            raise _too_big(f"The YAML file expands to more than {MAX_VALUES:,} values (it uses {self._aliases:,} "
                           f"aliases, each repeating a whole value); at most {MAX_VALUES:,} are allowed.",
                           "Write the values out instead of repeating them with aliases (*name).")


def _check_shape(data: Any) -> None:
    """Refuse parsed data with more than :data:`MAX_VALUES` values or deeper than :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _too_big(f"The file holds more than {MAX_VALUES:,} values; at most {MAX_VALUES:,} are allowed.")
        if depth > MAX_DEPTH:
            raise _too_big(f"The file nests lists or objects more than {MAX_DEPTH} levels deep.",
                           "A settings file nests a few levels; check that this is the right file.")
        if isinstance(node, dict):
            stack += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, depth + 1) for v in node]


_FIX_SYNTAX = "Check the brackets, commas and quotes."


def _looks_like(text: str) -> tuple[str, str]:
    """What a text that did not parse as JSON seems to be, as a sentence for the message, and the fix."""
    head = text.lstrip()[:2000]
    lines = [line for line in head.splitlines() if line.strip()][:5]
    if not head:
        return " The file is empty.", "Give a spec file (JSON or YAML), e.g. one written by `rmlp init`."
    if "\x00" in head:
        return (" It holds NUL characters: binary data, or UTF-16 text without a byte-order mark.",
                "Give a settings file saved as UTF-8 text.")
    if head[0] in "{[":
        return "", _FIX_SYNTAX
    if len(lines) >= 2 and lines[0].count(",") >= 1 and len({line.count(",") for line in lines}) == 1:
        return (" It looks like a CSV table, not a settings file.",
                "Give the spec (JSON or YAML) here; a data table goes to the data option (e.g. --data).")
    if lines and ":" in lines[0]:
        return " It looks like YAML.", "Name the file .yaml (or .yml) to read it as YAML."
    return "", _FIX_SYNTAX


def _parse_error(exc: BaseException, text: str, suffix: str) -> Problem:
    kind = suffix.lstrip(".").upper() if suffix.lower() in YAML_SUFFIXES else "JSON"
    if isinstance(exc, RecursionError):
        return Problem("", "error", f"The file nests lists or objects too deeply to read (more than {MAX_DEPTH} "
                       "levels is never a settings file).", "Check that this is the right file.")
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 300 else detail[:299] + "…"
    hint, fix = _looks_like(text) if kind == "JSON" else ("", _FIX_SYNTAX)
    return Problem("", "error", f"The file is not valid {kind}: {detail}.{hint}", fix)


def parse_document(text: str, suffix: str = ".json", error: type[ProblemsError] = ProblemsError) -> Any:
    """The data of a JSON (or, for .yaml/.yml, YAML) text; ``error`` with a problem when it does not parse.

    The text is bounded before it is read: its length, YAML aliases, nesting and the number of values.
    """
    if len(text) > MAX_DOCUMENT_BYTES:
        raise error([_too_big(f"The text is {len(text):,} characters long; a settings file is at most "
                              f"{human_bytes(MAX_DOCUMENT_BYTES)}.").problem])
    text = text.removeprefix("\ufeff")
    try:
        if suffix.lower() in YAML_SUFFIXES:
            data = yaml.load(text, Loader=BoundedYamlLoader)  # noqa: S506 - a SafeLoader, bounded
        else:
            data = json.loads(text)
        _check_shape(data)
    except _Refused as exc:
        raise error([exc.problem]) from None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a user mistake
        raise error([_parse_error(exc, text, suffix)]) from None
    return data


def decode_document(raw: bytes, error: type[ProblemsError] = ProblemsError) -> str:
    """The text of a file's bytes: UTF-8, or UTF-8/16/32 after a byte-order mark; ``error`` when not text."""
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        nul = b"\x00" in raw[:4096]
        what = "binary data or UTF-16 text without a byte-order mark" if nul else f"not {encoding.upper()} text"
        raise error([Problem("", "error", f"The file is {what}: byte {raw[exc.start:exc.start + 1]!r} at "
                             f"position {exc.start} cannot be decoded.",
                             "Save it as UTF-8 text (in most editors: Save as, encoding UTF-8).")]) from None


def read_document(path: str | Path, error: type[ProblemsError] = ProblemsError, what: str = "file") -> Any:
    """The data in a JSON or YAML file; ``error`` with a clear message for a missing, huge or bad file."""
    path = Path(path)
    if path.is_dir():
        raise error([Problem("", "error", f"{path} is a folder, not a {what}.", "Give a file (.json or .yaml).")])
    if not path.is_file():
        raise error([Problem("", "error", f"No {what} at {path}.", "Check the path.")])
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise error([Problem("", "error", f"The {what} {path.name} is {human_bytes(size)}; a settings file is at "
                             f"most {human_bytes(MAX_DOCUMENT_BYTES)}.", "Check that this is the right file.")])
    with path.open("rb") as handle:
        raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    return parse_document(decode_document(raw, error), path.suffix, error)


def refuse_unknown_version(data: Any, field: str, known: int, error: type[ProblemsError] = ProblemsError,
                           noun: str = "the file") -> None:
    """``error`` when ``data[field]`` is a format version this rmlp does not read (newer, or below 1)."""
    version = data.get(field) if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or 1 <= version <= known:
        return  # absent, the right one, or a wrong type (which the model's own check words)
    if version > known:
        message = (f"{noun[0].upper()}{noun[1:]} was made by a newer rmlp: format version {version}, and this rmlp "
                   f"reads versions up to {known}.")
        fix = "Upgrade rmlp (pip install --upgrade rmlp), or save it again with this version."
    else:
        message, fix = f"{version} is not a format version (versions start at 1).", f"Set it to {known}."
    raise error([Problem(field, "error", message, fix, known if version < 1 else None)])


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
        raise error(problems_from_validation_error(exc, noun, label_finder(cls))) from None


def load_document(cls: type[M], path: str | Path, error: type[ProblemsError] = ProblemsError,
                  what: str = "file") -> M:
    """``cls`` read from a JSON or YAML file."""
    return parse_model(cls, read_document(path, error, what), error)


def dump_document(data: Any, path: str | Path) -> Path:
    """Write ``data`` as JSON, or as YAML when the name ends in .yaml/.yml."""
    path = Path(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
