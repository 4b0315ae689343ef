"""The tree shows the architecture: each package imports only the layers below it, and nothing imports in a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The packages of rmlp from the bottom up; a module may import its own package and those listed before it.
LAYERS = ["spec", "base", "design", "data", "keras", "runs", "export", "search", "learn", "notebook", "cli"]
#: The one way down-to-up: notebook display hooks, imported inside the method or branch that runs only
#: when Jupyter shows the object (``_repr_html_``, ``_ipython_display_``) or ``display=True`` is asked.
DISPLAY_HOOKS = {
    ("rmlp.spec.model", "rmlp.notebook.views"), ("rmlp.spec.problems", "rmlp.notebook.views"),
    ("rmlp.design.summary", "rmlp.notebook.views"), ("rmlp.runs.train", "rmlp.notebook.live"),
    ("rmlp.search.runner", "rmlp.notebook.live"),
}
#: ``rmlp.base`` holds both the pure facts the design path reads and the Keras-side loaders; only
#: these modules of it sit below the design path.
DESIGN_PATH = ("rmlp.spec", "rmlp.base.info", "rmlp.base.preprocess", "rmlp.base.safety", "rmlp.design",
               "rmlp.export.code", "rmlp.export.render", "rmlp.export.scripts")
#: Third-party packages that must never be imported at the top of a module of rmlp.
HEAVY = ("tensorflow", "keras", "streamlit", "optuna")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "rmlp").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, top_level_only: bool) -> list[str]:
    """Modules a file imports (absolute names), at its top level or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = []
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` blocks are for types only
            continue
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{alias.name}" for alias in node.names]
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "rmlp" or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_every_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for name, path in _modules().items():
        own = _layer(name)
        if own is None:
            continue
        for target in _imports(path, top_level_only=False):
            other = _layer(target)
            if other is not None and other > own and (name, ".".join(target.split(".")[:3])) not in DISPLAY_HOOKS:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_heavy_library_at_its_top() -> None:
    allowed = {"rmlp.runs.callbacks"}  # imported only while a run trains
    wrong = [f"{name} imports {target}" for name, path in _modules().items() if name not in allowed
             for target in _imports(path, top_level_only=True) if target.split(".")[0] in HEAVY]
    assert not wrong, "\n".join(wrong)


def test_there_are_no_import_cycles_between_modules() -> None:
    modules = _modules()
    graph = {name: {t for t in _imports(path, top_level_only=False)
                    if t in modules and t != name and (name, t) not in DISPLAY_HOOKS}
             for name, path in modules.items()}
    # a package's __init__ re-exports its modules; an edge into a package means its __init__ only
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name)


def test_the_design_path_runs_without_tensorflow_streamlit_or_optuna() -> None:
    code = (
        "import sys\n"
        f"for m in {list(DESIGN_PATH)!r}: __import__(m)\n"
        "import rmlp, rmlp.cli, rmlp.search, rmlp.runs.train, rmlp.export\n"
        "spec = rmlp.ModelSpec(); rmlp.validate(spec); rmlp.summarize(spec); rmlp.to_dot(spec)\n"
        "from rmlp.export import export_python; export_python(spec)\n"
        f"bad = [m for m in {list(HEAVY)!r} if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
