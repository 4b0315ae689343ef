"""Rendering generated code: Jinja2 templates, then black, then ``ast.parse`` and ``compile`` as a check."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from rmlp.export.code import ExportError

TEMPLATES = Path(__file__).with_name("templates")

__all__ = ["TEMPLATES", "check_json_literal", "finish", "render"]


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # noqa: S701 - renders Python and Markdown, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **data: Any) -> str:
    from rmlp import __version__

    return _environment().get_template(template).render(version=__version__, **data)


def finish(code: str, what: str) -> str:
    """Format with black, then parse and compile; ExportError when the code is not valid Python."""
    import black

    try:
        code = black.format_str(code, mode=black.Mode(line_length=100))
    except Exception as exc:  # noqa: BLE001 - black raises several error types for bad input
        raise ExportError(f"The generated {what} is not valid Python (black: {exc}).") from None
    try:
        ast.parse(code)
        compile(code, "<export>", "exec")
    except SyntaxError as exc:
        raise ExportError(f"The generated {what} does not compile: {exc}.") from None
    return code


def check_json_literal(code: str, variable: str, expected: Any) -> None:
    """The raw JSON string assigned to ``variable`` parses back to exactly ``expected``."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # json.loads(r'''...''')
                value = value.args[0]
            if isinstance(value, ast.Constant) and value.value is None and expected is None:
                return
            if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
                raise ExportError(f"The generated code does not hold {variable} as a string literal.")
            if json.loads(value.value) != json.loads(json.dumps(expected)):
                raise ExportError(f"The generated {variable} does not read back as the data it was made from.")
            return
    raise ExportError(f"The generated code lacks {variable}.")


