"""Rich display in a notebook: the design card (SVG graph, figures, problems), tables, no `dot` needed."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import rmlp
from rmlp.design import svg
from rmlp.design.summary import summarize
from rmlp.notebook import views
from rmlp.spec.model import BlockSpec, ModelSpec


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without any `dot` program (nor graphviz-pure): only what this Python's scripts folder holds."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    svg._render.cache_clear()


def node_ids(html: str) -> list[str]:
    return re.findall(r'<g id="([^"]+)" class="node[ "]', html)


def test_spec_card_draws_the_graph_as_svg_without_dot(no_dot: None) -> None:
    import shutil

    assert shutil.which("dot") is None
    program = svg.layout_program()
    assert program is not None and Path(program).name.startswith("graphviz-pure")
    assert Path(program).parent == Path(sys.executable).parent or os.access(program, os.X_OK)
    spec = ModelSpec(blocks=[BlockSpec(layers=3, width=64, decrement=16), BlockSpec(layers=2, width=32, decrement=8)])
    html = spec._repr_html_()
    assert "<svg" in html and "<?xml" not in html
    ids = node_ids(html)
    # every block's layers are drawn, each node carrying the field path it comes from
    assert "blocks[0].width" in ids and "blocks[1].width" in ids and "input_shape" in ids
    assert "Dense 64" in html or "64" in html
    # the figures of the same design, and its status
    figures = summarize(spec)
    assert f"{figures.total_params:,}" in html and f"{figures.trainable_params:,}" in html
    assert "Training memory (batch 32, float32)" in html and "valid" in html and "No problems" in html


def test_graph_falls_back_to_the_dot_text_when_no_layout_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svg, "layout_program", lambda: None)
    html = views.graph_html(ModelSpec())
    assert "<svg" not in html and "digraph" in html and "graphviz-pure" in html


def test_problems_are_listed_with_path_message_and_fix() -> None:
    spec = rmlp.parse_spec({**ModelSpec().to_dict(), "bypass_dropout": 3.0,
                            "blocks": [{"layers": 2, "width": 0, "decrement": 0, "bypass": []}]})
    problems = rmlp.validate(spec)
    table = problems._repr_html_()
    assert table.count("<tr>") == len(problems) + 1
    for problem in problems:
        assert f">{problem.path}<" in table
    assert "Set it to 1." in table and "blocks[0].width" in table and "bypass_dropout" in table
    card = spec._repr_html_()
    errors = sum(p.severity == "error" for p in problems)
    assert f"{errors} error{'s' if errors != 1 else ''}" in card and "blocks[0].width" in card


def test_an_empty_problem_list_says_so() -> None:
    assert "No problems" in rmlp.validate(ModelSpec())._repr_html_()


def test_summary_table_matches_its_figures() -> None:
    figures = summarize(ModelSpec(), batch_size=256)
    html = figures._repr_html_()
    assert f"{figures.total_params:,}" in html and "batch 256" in html and str(figures.depth) in html


def test_user_text_is_escaped() -> None:
    spec = ModelSpec(name="<script>alert(1)</script>")
    html = spec._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_run_html_lists_scalar_test_metrics(tmp_path: Path) -> None:
    from rmlp.runs.train import RunResult

    result = RunResult(run_dir=tmp_path, model=None, history={"loss": [1.0, 0.5]},
                       test_metrics={"accuracy": 0.875, "confusion_matrix": [[1, 0], [0, 1]]}, stopped=False,
                       epochs_run=2, spec=ModelSpec(name="wine_model"), notices=["Input shape set to [13]."])
    html = views.run_html(result)
    assert "wine_model" in html and "0.875" in html and "confusion" not in html
    assert "2 epochs" in html and "Input shape set to [13]." in html and str(tmp_path) in html


def test_the_graph_title_fits_the_drawing_in_any_browser_font() -> None:
    import re

    from rmlp.design.graph import to_dot
    from rmlp.notebook.views import dot_to_svg

    spec = rmlp.ModelSpec(ensemble=5, num_outputs=3, task="multiclass", input_shape=[13])
    svg = dot_to_svg(to_dot(spec))
    assert svg is not None
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    title = [t for t in re.findall(r'font-size="14.00">([^<]*)</text>', svg)]
    assert any("ensemble of 5" in t for t in title), title
    # 8.5 pt a character: a wide sans-serif fallback (DejaVu Sans) at 14 pt still fits inside the drawing
    assert all(len(t) * 8.5 <= width for t in title), (title, width)
