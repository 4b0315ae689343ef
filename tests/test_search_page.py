"""The Search page (AppTest): search toggles next to the design's controls, a stored study, open the best."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from designer_app.state import encode_spec
from rmlp import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "designer_app" / "app.py"
SMALL = ModelSpec(input_shape=[13], num_outputs=3, blocks=[{"layers": 2, "width": 16, "decrement": 4}],
                  final_layers=[8])


def _widget(at: AppTest, kind: str, label: str, index: int = 0) -> Any:
    found = [w for w in getattr(at, kind) if w.label == label]
    assert len(found) > index, f"no {kind} {label!r}: {[w.label for w in getattr(at, kind)]}"
    return found[index]


def _search_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RMLP_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("RMLP_STUDIES_DIR", str(tmp_path / "studies"))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["spec"] = encode_spec(SMALL)
    at.run()
    at = at.switch_page("../pages/data.py").run()
    at = _widget(at, "button", "Use this data").click().run()  # the first sample: wine
    at = at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def _searching(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Searching"))


def _made_study(tmp_path: Path) -> tuple[str, ModelSpec]:
    storage = f"sqlite:///{tmp_path / 'made.db'}"
    study = optuna.create_study(storage=storage, study_name="made")
    study.set_user_attr("rmlp", {"metric": "val_loss"})
    best = SMALL.copy_with(blocks=[{"layers": 3, "width": 24, "decrement": 5}], activation="gelu")
    for value, spec in ((0.9, SMALL), (0.3, best)):
        study.add_trial(optuna.trial.create_trial(
            value=value, params={"blocks.0.width": spec.blocks[0].width},
            distributions={"blocks.0.width": optuna.distributions.IntDistribution(8, 32)},
            user_attrs={"spec": spec.to_json(indent=None), "batch_size": 16, "params": 100}))
    return storage, best


def test_search_page_toggles_a_stored_study_and_opens_the_best(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    assert _searching(at).startswith("Searching 5 field(s)")
    at = _widget(at, "toggle", "search").set_value(False).run()  # the number of blocks: as designed
    assert _searching(at).startswith("Searching 4 field(s)")
    assert any("as designed (1)" in m.value for m in at.markdown)
    # a range that is empty is reported, and nothing can start
    at = _widget(at, "number_input", "from").set_value(30).run()  # blocks[].layers: 30 > 8
    assert any("empty" in e.value for e in at.error), [e.value for e in at.error]
    assert _widget(at, "button", "Start search").disabled
    at = _widget(at, "number_input", "from").set_value(1).run()
    assert not at.error
    # a stored study (as other machines would make it) is shown, and its best design opened
    storage, best = _made_study(tmp_path)
    at = _widget(at, "text_input", "Study name").set_value("made").run()
    at = _widget(at, "text_input", "Storage URL").set_value(storage).run()
    at = _widget(at, "button", "Show this study").click().run()
    assert not at.exception, at.exception
    assert len(at.dataframe) >= 1
    at = _widget(at, "button", "Open the best design (trial 1) in the designer").click().run()
    assert at.session_state["rmlp.spec"]["blocks"] == [b.model_dump() for b in best.blocks]
    assert at.session_state["rmlp.spec"]["activation"] == "gelu"
    assert any("Opened the best design" in s.value for s in at.success)


def test_search_settings_are_drawn_from_their_declarations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from designer_app.widgets import shown_settings
    from rmlp.search.config import SearchConfig

    at = _search_page(tmp_path, monkeypatch)
    labels = {w.label for kind in ("number_input", "toggle", "selectbox", "text_input") for w in getattr(at, kind)}
    for group in ("", "advanced", "storage"):
        for name in shown_settings(SearchConfig, group):
            assert SearchConfig.meta(name).label in labels, name
    assert "Random trials first" in labels  # the TPE setting, declared once in SearchConfig
    at = _widget(at, "selectbox", "Sampler").set_value("random").run()
    assert _widget(at, "number_input", "Random trials first").disabled  # it only applies to TPE
    metric = _widget(at, "selectbox", "Metric")
    assert "val_accuracy" in metric.options and "val_rmse" not in metric.options  # the task's own metrics


@pytest.mark.slow
def test_search_page_runs_a_search_in_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _search_page(tmp_path, monkeypatch)
    at = _widget(at, "number_input", "Trials").set_value(2).run()
    at = _widget(at, "number_input", "Epochs per trial").set_value(1).run()
    at = _widget(at, "button", "Start search").click().run()
    job = at.session_state["rmlp.search"].job
    deadline = time.time() + 240
    while not job.finished and time.time() < deadline:
        job.wait(2.0)
        at.run()
    assert job.status == "done", job.snapshot().error
    at = at.run()
    assert not at.exception, at.exception
    result = job.snapshot().result
    assert result.progress.done == 2 and result.worker_exits == [0]
    charts = [e for e in at.main.children.values()]  # the page drew; plotly charts are below
    assert charts
    assert any(b.label.startswith("Open the best design") for b in at.button)
