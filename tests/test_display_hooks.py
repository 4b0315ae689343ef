"""The core shows its objects in a notebook through rmlp.spec.display, which the notebook fills in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rmlp.spec import display

ROOT = Path(__file__).resolve().parents[1]


def test_a_spec_shows_itself_without_the_user_importing_the_notebook() -> None:
    code = ("import sys\nfrom rmlp.spec.model import ModelSpec\n"
            "assert 'rmlp.notebook' not in sys.modules\n"
            "html = ModelSpec()._repr_html_()\n"
            "print('rmlp.notebook' in sys.modules, '<svg' in html)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_a_hook_nobody_registered_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display, "_HOOKS", {})
    loads: list[int] = []
    monkeypatch.setattr(display, "_loader", lambda: loads.append(1))
    with pytest.raises(LookupError, match="notebook extra"):
        display.hook("train_live")
    assert loads == [1]


def test_a_registered_hook_is_what_display_true_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    from rmlp.runs.train import train

    monkeypatch.setattr(display, "_HOOKS", {})
    heard: list[tuple[object, ...]] = []
    display.register("train_live", lambda *args: heard.append(args) or "drawn")
    assert train("spec", "data", display=True) == "drawn"  # type: ignore[arg-type]
    assert heard == [("spec", "data", None, None, None, None)]


def test_a_missing_notebook_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import rmlp.notebook  # noqa: F401 - registers the deferred renderers

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if ipywidgets were not installed
    monkeypatch.delitem(sys.modules, "rmlp.notebook.live", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"notebook extra: pip install 'rmlp\[notebook\]'"):
        display.hook("search_live")(None, None)
