"""The tree shows the architecture: each module imports only the layers below it, and nothing imports in a cycle.

The order, bottom up: the packages of ``rmlp`` (:data:`LAYERS`), then the app's modules in ``designer_app/``
(:data:`APP_ORDER`), then the page scripts in ``pages/``. Every import counts, at a module's top or inside a
function: an import kept local to stay off a light path still makes the dependency. There is no exception
for upward edges: the notebook shows the core's objects through :mod:`rmlp.spec.display`, which it fills in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The packages (or single modules) of rmlp from the bottom up; a module may import its own and those before it.
LAYERS = ["compat", "spec", "base", "design", "data", "keras", "runs", "export", "search", "learn", "notebook",
          "cli"]
#: The app's modules from the bottom up, in tiers; a module may import its own tier and those before it.
#: Data sets, jobs, links and the Design page's values know no session; each page's own part of the session
#: (``*_session``) keeps its jobs; the session core (``state``) keeps the design and the data and takes back
#: the pages' jobs after a reload; controls and the training job read the session; each page's view draws
#: with all of these; ``app`` is the entry script.
APP_ORDER = [
    {"designer_app", "server", "memo", "jobs", "teaching", "datasets", "runs_table", "metric_names", "style",
     "links", "design_values"},
    {"train_session", "search_session", "learn_session"},
    {"state", "experiment_job", "comparison", "lifecycle"},
    {"widgets", "training", "sidebar", "predict_view"},
    {"data_view", "design_view", "train_view", "search_view", "learn_view", "export_view", "runs_view",
     "comparison_view"},
    {"app"},
]
#: ``rmlp.base`` holds both the pure facts the design path reads and the Keras-side loaders; only
#: these modules of it sit below the design path.
DESIGN_PATH = ("rmlp.spec", "rmlp.base.info", "rmlp.base.preprocess", "rmlp.base.safety", "rmlp.design",
               "rmlp.export.code", "rmlp.export.render", "rmlp.export.scripts")
#: Third-party packages that must never be imported at the top of a module of rmlp.
HEAVY = ("tensorflow", "keras", "streamlit", "optuna")

Rank = tuple[int, int | None]


def _modules(root: Path = ROOT, folders: Iterable[str] = ("rmlp", "designer_app", "pages")) -> dict[str, Path]:
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, top_level_only: bool) -> list[str]:
    """Modules a file imports (absolute names, relative ones resolved), at its top level or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` blocks are for types only
            continue
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append(module)
            out += [f"{module}.{alias.name}" for alias in node.names]
    return out


def _rank(module: str) -> Rank | None:
    """Where a module sits: (0, rmlp layer), (1, app tier; None for a module not yet placed), (2, 0) for pages."""
    parts = module.split(".")
    if parts[0] == "rmlp":
        return (0, LAYERS.index(parts[1])) if len(parts) > 1 and parts[1] in LAYERS else None
    if parts[0] == "designer_app":
        own = parts[1] if len(parts) > 1 else "designer_app"
        return 1, next((i for i, tier in enumerate(APP_ORDER) if own in tier), None)
    if parts[0] == "pages":
        return 2, 0
    return None


def _above(target: Rank, source: Rank) -> bool:
    if target[0] != source[0]:
        return target[0] > source[0]
    return target[1] is not None and source[1] is not None and target[1] > source[1]


def _upward_edges(modules: dict[str, Path]) -> list[str]:
    wrong = []
    for name, path in modules.items():
        own = _rank(name)
        if own is None:
            continue
        for target in _imports(path, name, top_level_only=False):
            other = _rank(target)
            if other is not None and _above(other, own):
                wrong.append(f"{name} imports {target}")
    return wrong


def _find_cycle(modules: dict[str, Path]) -> list[str] | None:
    """One import cycle among ``modules`` (every import, local ones too), or None."""
    graph = {name: {t for t in _imports(path, name, top_level_only=False) if t in modules and t != name}
             for name, path in modules.items()}
    # a package's __init__ re-exports its modules; an edge into a package means its __init__ only
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in seen and (found := visit(nxt)):
                return found
        stack.pop()
        seen[node] = 2
        return None

    for name in sorted(graph):
        if name not in seen and (cycle := visit(name)):
            return cycle
    return None


def test_every_module_imports_only_the_layers_below_it() -> None:
    wrong = _upward_edges(_modules())
    assert not wrong, "\n".join(wrong)


def test_every_app_module_has_a_place_in_the_order() -> None:
    unplaced = [name for name in _modules(folders=["designer_app"]) if _rank(name) == (1, None)]
    assert not unplaced, f"add {unplaced} to a tier of APP_ORDER"


def test_no_module_imports_a_heavy_library_at_its_top() -> None:
    allowed = {"rmlp.runs.callbacks"}  # imported only while a run trains
    wrong = [f"{name} imports {target}" for name, path in _modules(folders=["rmlp"]).items() if name not in allowed
             for target in _imports(path, name, top_level_only=True) if target.split(".")[0] in HEAVY]
    assert not wrong, "\n".join(wrong)


def test_there_are_no_import_cycles_between_modules() -> None:
    cycle = _find_cycle(_modules())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checks_see_imports_inside_functions(tmp_path: Path) -> None:
    """A cycle or an upward edge hidden in a function-local (or relative) import is still found."""
    app = tmp_path / "designer_app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "state.py").write_text("def f():\n    from designer_app import datasets\n")
    (app / "datasets.py").write_text("def g():\n    from . import state\n")
    (tmp_path / "rmlp" / "spec").mkdir(parents=True)
    (tmp_path / "rmlp" / "spec" / "model.py").write_text("def h():\n    from rmlp.notebook.views import x\n")
    modules = _modules(tmp_path)
    assert _find_cycle(modules) in (["designer_app.datasets", "designer_app.state", "designer_app.datasets"],
                                    ["designer_app.state", "designer_app.datasets", "designer_app.state"])
    assert sorted(_upward_edges(modules)) == ["designer_app.datasets imports designer_app.state",
                                      "rmlp.spec.model imports rmlp.notebook.views",
                                      "rmlp.spec.model imports rmlp.notebook.views.x"]


def test_the_design_path_runs_without_tensorflow_streamlit_or_optuna() -> None:
    code = (
        "import sys\n"
        f"for m in {list(DESIGN_PATH)!r}: __import__(m)\n"
        "import rmlp, rmlp.cli, rmlp.search, rmlp.runs.train, rmlp.export\n"
        "spec = rmlp.ModelSpec(); rmlp.validate(spec); rmlp.summarize(spec); rmlp.to_dot(spec)\n"
        "spec._repr_html_(); rmlp.validate(spec)._repr_html_(); rmlp.summarize(spec)._repr_html_()\n"
        "from rmlp.export import export_python; export_python(spec)\n"
        f"bad = [m for m in {list(HEAVY)!r} + ['ipywidgets'] if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _named_modules(path: Path) -> set[str]:
    """String constants in a file that name a module of the notebook or the app (as for importlib)."""
    strings = {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return {text for text in strings if text.startswith(("rmlp.notebook", "designer_app.", "pages."))}


@pytest.mark.parametrize("layer", ["spec", "design", "runs", "search"])
def test_the_core_never_names_the_notebook_or_the_app(layer: str) -> None:
    """Not even as a string to import: the notebook registers itself in rmlp.spec.display instead."""
    named = {str(path.relative_to(ROOT)): found for path in sorted((ROOT / "rmlp" / layer).rglob("*.py"))
             if (found := _named_modules(path))}
    assert not named, named
